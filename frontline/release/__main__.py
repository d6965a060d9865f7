"""``python -m frontline.release candidate|canary|report|guard|promote|rollback|status``.

* ``candidate [--model PATH] [--folds N]``: train (unless a model is given), check and
  compare with production (``make candidate``); exit 1 when the gate rejects it.
* ``canary [--percentage P]``: the approved candidate serves a sticky share of customers.
* ``report [--json FILE]``: the arms compared per segment, with confidence intervals.
* ``guard``: rolls the canary back on its own on a guardrail breach (exit 3 when it did);
  run it on a schedule (cron, a Kubernetes CronJob).
* ``promote``: the approved candidate becomes production (ending its canary).
* ``rollback [--reason TEXT]``: ends the canary, or goes back to the previous model.
* ``status``: production, previous and approved model ids, and the canary.
* ``path``: the production model's file (what the Rasa server loads; ``make run`` uses it).
* ``router --production URL --candidate URL [--port 5004]``: the canary router
  (:mod:`frontline.release.router`).

Every step is appended to the audit trail (kind ``release``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from frontline.audit.store import audit_store
from frontline.errors import ConfigurationError
from frontline.outcomes.policy import outcome_policies
from frontline.release.arms import report_markdown
from frontline.release.canary import CanaryStore
from frontline.release.candidate import RasaSteps, run_candidate
from frontline.release.operations import Release
from frontline.release.policy import release_policy
from frontline.release.registry import Registry
from frontline.settings import PROJECT_ROOT, get_settings

logger = logging.getLogger(__name__)
GUARD_ROLLED_BACK = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--actor", default="operator", help="who does this (audited)")
    commands = parser.add_subparsers(dest="command", required=True)
    candidate = commands.add_parser("candidate", help="train, check and compare a candidate")
    candidate.add_argument("--model", type=Path, help="judge this model instead of training")
    candidate.add_argument("--folds", type=int, help="cross-validation folds (0: skip)")
    candidate.add_argument("--json", type=Path, help="write the verdict here too")
    canary = commands.add_parser("canary", help="the approved candidate serves a share")
    canary.add_argument("--percentage", type=float)
    report = commands.add_parser("report", help="the arms compared per segment")
    report.add_argument("--json", type=Path)
    commands.add_parser("guard", help="roll the canary back on a guardrail breach")
    commands.add_parser("promote", help="the approved candidate becomes production")
    back = commands.add_parser("rollback", help="end the canary / undo the last promotion")
    back.add_argument("--reason", default="operator")
    commands.add_parser("status", help="production, previous, approved, canary")
    commands.add_parser("path", help="the production model's file")
    router = commands.add_parser("router", help="route messages to the arms")
    router.add_argument("--production", required=True, help="production Rasa server URL")
    router.add_argument("--candidate", required=True, help="candidate Rasa server URL")
    router.add_argument("--host", default="127.0.0.1")
    router.add_argument("--port", type=int, default=5004)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    registry = Registry(args.root)
    if args.command == "path":
        try:
            print(registry.path_of(registry.production()))
        except ConfigurationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "router":
        from aiohttp import web

        from frontline.release.router import create_app

        store = CanaryStore(get_settings().database_url)
        arms = {"production": args.production, "candidate": args.candidate}
        web.run_app(create_app(store, arms), host=args.host, port=args.port)
        return 0
    try:
        policy = release_policy(args.root / "policies")
        audit = audit_store()
        release = Release(
            registry, CanaryStore(get_settings().database_url), policy, audit, args.actor
        )
        if args.command == "candidate":
            from rasa.utils.log_utils import configure_structlog

            configure_structlog(logging.WARNING)  # Rasa's parse logs, once per message
            result = run_candidate(
                RasaSteps(args.root),
                registry,
                policy,
                audit,
                model=args.model,
                folds=args.folds,
                report=print,
            )
            if args.json:
                args.json.write_text(json.dumps(result.verdict.as_dict(), indent=2) + "\n")
            for failure in result.verdict.failures:
                print(f"FAIL {failure}", file=sys.stderr)
            verdict = "passes" if result.verdict.promote else "is rejected by"
            print(f"candidate {result.candidate.model_id} {verdict} the gate")
            return 0 if result.verdict.promote else 1
        if args.command == "canary":
            print(release.start_canary(args.percentage))
        elif args.command == "report":
            arms = release.arms_report()
            current = release.canary.current()
            assert current is not None
            print(report_markdown(arms, current))
            if args.json:
                numbers = {
                    s: {a: {m: r.as_dict() for m, r in rates.items()} for a, rates in v.items()}
                    for s, v in arms.items()
                }
                args.json.write_text(json.dumps(numbers, indent=2) + "\n")
        elif args.command == "guard":
            breaches = release.guard(outcome_policies(args.root / "policies").slo.objectives)
            for breach in breaches:
                print(f"BREACH {breach}", file=sys.stderr)
            print("rolled back" if breaches else "no breach")
            return GUARD_ROLLED_BACK if breaches else 0
        elif args.command == "promote":
            print(release.promote())
        elif args.command == "rollback":
            print(release.rollback(args.reason))
        else:
            approved, previous = registry.approved(), registry.previous()
            current = release.canary.current()
            print(f"production {registry.production().model_id}")
            print(f"previous   {previous.model_id if previous else '-'}")
            print(f"approved   {approved.model_id if approved else '-'}")
            canary = (
                f"{current.candidate_model} {current.percentage:g}% {current.status}"
                if current
                else "-"
            )
            print(f"canary     {canary}")
    except (ConfigurationError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main())

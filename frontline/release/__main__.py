"""``python -m frontline.release candidate|promote|rollback|status``.

* ``candidate [--model PATH]``: train (unless a model is given), check and compare with
  production (``make candidate``); exit 1 when the gate rejects it.
* ``promote``: the approved candidate becomes the production model.
* ``rollback``: back to the model production replaced (or withdraw an approved candidate).
* ``status``: production, previous and approved model ids.

Every decision is appended to the audit trail (kind ``release``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from frontline.audit.store import AuditStore, audit_store
from frontline.errors import ConfigurationError
from frontline.release.candidate import RasaSteps, audit_release, run_candidate
from frontline.release.policy import ReleasePolicy, release_policy
from frontline.release.registry import Registry
from frontline.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)


def promote(registry: Registry, policy: ReleasePolicy, audit: AuditStore | None) -> str:
    """Makes the approved candidate the production model, audited.

    Raises:
        ConfigurationError: no candidate has passed the gate.
    """
    candidate = registry.approved()
    if candidate is None:
        raise ConfigurationError("no approved candidate: run `make candidate` first")
    replaced = registry.promote(candidate)
    audit_release(
        audit,
        "promoted",
        {
            "candidate_model": candidate.model_id,
            "production_model": replaced.model_id,
            "policy_version": policy.version,
            "figures": candidate.figures,
        },
    )
    return f"promoted {candidate.model_id} (replaces {replaced.model_id})"


def rollback(registry: Registry, policy: ReleasePolicy, audit: AuditStore | None, why: str) -> str:
    """Withdraws the approved candidate, or else restores the previous production model."""
    withdrawn = registry.reject_approved()
    if withdrawn is not None:
        production = registry.production()
        audit_release(
            audit,
            "rolled_back",
            {
                "candidate_model": withdrawn.model_id,
                "production_model": production.model_id,
                "policy_version": policy.version,
                "reason": why,
            },
        )
        return f"withdrew candidate {withdrawn.model_id}; production stays {production.model_id}"
    restored, withdrawn_prod = registry.restore_previous()
    audit_release(
        audit,
        "rolled_back",
        {
            "candidate_model": withdrawn_prod.model_id,
            "production_model": restored.model_id,
            "policy_version": policy.version,
            "reason": why,
        },
    )
    return f"rolled back to {restored.model_id} (withdrew {withdrawn_prod.model_id})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    candidate = commands.add_parser("candidate", help="train, check and compare a candidate")
    candidate.add_argument("--model", type=Path, help="judge this model instead of training")
    candidate.add_argument("--json", type=Path, help="write the verdict here too")
    commands.add_parser("promote", help="the approved candidate becomes production")
    back = commands.add_parser("rollback", help="withdraw the candidate / the last promotion")
    back.add_argument("--reason", default="operator")
    commands.add_parser("status", help="production, previous and approved models")
    args = parser.parse_args(argv)

    registry = Registry(args.root)
    try:
        policy = release_policy(args.root / "policies")
        audit = audit_store()
        if args.command == "candidate":
            result = run_candidate(
                RasaSteps(args.root), registry, policy, audit, model=args.model, report=print
            )
            if args.json:
                args.json.write_text(json.dumps(result.verdict.as_dict(), indent=2) + "\n")
            for failure in result.verdict.failures:
                print(f"FAIL {failure}", file=sys.stderr)
            verdict = "passes" if result.verdict.promote else "is rejected by"
            print(f"candidate {result.candidate.model_id} {verdict} the gate")
            return 0 if result.verdict.promote else 1
        if args.command == "promote":
            print(promote(registry, policy, audit))
        elif args.command == "rollback":
            print(rollback(registry, policy, audit, args.reason))
        else:
            approved = registry.approved()
            previous = registry.previous()
            print(f"production {registry.production().model_id}")
            print(f"previous   {previous.model_id if previous else '-'}")
            print(f"approved   {approved.model_id if approved else '-'}")
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main())

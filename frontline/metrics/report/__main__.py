"""``python -m frontline.metrics.report``: writes the HTML report (``make report``)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from frontline.metrics.report.html import render
from frontline.metrics.summary import compute_metrics
from frontline.outcomes.policy import outcome_policies
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.store import OutcomeStoreError
from frontline.settings import PROJECT_ROOT, get_settings

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 30


def instant(text: str) -> float:
    """``2026-11-01`` (midnight UTC) or an ISO-8601 time, as epoch seconds."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 date or time: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--since", type=instant, help=f"start (default: {DEFAULT_DAYS} days ago)")
    parser.add_argument("--until", type=instant, help="end, exclusive (default: now)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results" / "report.html")
    parser.add_argument("--database-url", help="default: FRONTLINE_DATABASE_URL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    now = time.time()
    until = args.until if args.until is not None else now
    since = (
        args.since
        if args.since is not None
        else until - timedelta(days=DEFAULT_DAYS).total_seconds()
    )
    if since >= until:
        parser.error("--since must be before --until")
    store = SqlOutcomeStore(args.database_url or get_settings().database_url)
    policies = outcome_policies()
    started = time.perf_counter()
    try:
        # The writer's rule, applied now: contacts quiet for too long are abandoned.
        store.close_idle(now, policies.outcomes.abandon_after_seconds)
        result = compute_metrics(store, since, until, policies=policies, now=now)
    except OutcomeStoreError as exc:
        print(f"ERR {exc}", file=sys.stderr)
        return 1
    html = render(result, now)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(html, encoding="utf-8")
    print(
        f"Wrote {args.out} ({result.overall.contacts} contacts, "
        f"{time.perf_counter() - started:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

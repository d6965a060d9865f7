"""``python -m frontline.review export``: reviewed labels -> ``data/nlu/reviewed/``.

Examples::

    python -m frontline.review export                      # writes data/nlu/reviewed/*.yml
    python -m frontline.review export --report results/review/export.json

Prints what it wrote and left out (conflicts, held-out texts, near-duplicates across
intents, proposed new intents); exit status 0 even with conflicts (they are reported, not
written). The labels are read from ``FRONTLINE_DATABASE_URL`` (or ``--database-url``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from frontline.errors import FrontlineError
from frontline.review.export import export
from frontline.review.policy import review_policy
from frontline.review.store import create
from frontline.settings import PROJECT_ROOT, get_settings


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m frontline.review")
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("export", help="labels -> masked NLU training data")
    command.add_argument("--database-url", help="default: FRONTLINE_DATABASE_URL")
    command.add_argument("--data", type=Path, default=PROJECT_ROOT / "data" / "nlu")
    command.add_argument("--holdout", type=Path, default=PROJECT_ROOT / "tests/nlu/holdout.yml")
    command.add_argument("--out", type=Path, help="default: the policy's export.directory")
    command.add_argument("--report", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    policy = review_policy(settings.policies_dir)
    try:
        labels = list(create({"type": "sql", "url": args.database_url or settings.database_url})
                      .labels().values())  # fmt: skip
        out = args.out or PROJECT_ROOT / policy.export_directory
        report = export(labels, args.data, args.holdout, policy, out)
    except FrontlineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

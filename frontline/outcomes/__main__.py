"""``python -m frontline.outcomes rebuild``: the outcome records again, from the tracker store.

    python -m frontline.outcomes rebuild [--since 2026-11-01] [--tracker-store-url URL]

``--tracker-store-url`` defaults to ``TRACKER_STORE_URL`` (Rasa's SQL tracker store),
the records go to ``FRONTLINE_DATABASE_URL``. Stop the Rasa servers first, or rebuild
only conversations that are over (``--since`` picks those with an event since then).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import datetime, timezone

from frontline.errors import ConfigurationError
from frontline.outcomes.factory import processor_from_settings
from frontline.outcomes.rebuild import rebuild
from frontline.outcomes.store import OutcomeStoreError
from frontline.settings import get_settings


def _instant(text: str) -> float:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("rebuild", help="fold the stored conversations again")
    command.add_argument("--tracker-store-url", default=os.environ.get("TRACKER_STORE_URL"))
    command.add_argument("--since", type=_instant, help="only conversations active since")
    command.add_argument("--tier-source", default="crm", choices=("crm", "none"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.tracker_store_url:
        parser.error("set --tracker-store-url or TRACKER_STORE_URL")
    try:
        processor = processor_from_settings(get_settings(), tier_source=args.tier_source)
        count = rebuild(processor, args.tracker_store_url, args.since)
    except (ConfigurationError, OutcomeStoreError) as exc:
        print(f"ERR {exc}", file=sys.stderr)
        return 1
    print(f"Rebuilt the outcome records of {count} conversations.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

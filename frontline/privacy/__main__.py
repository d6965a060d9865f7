"""``python -m frontline.privacy``: erase one person's data, or apply retention.

Examples::

    python -m frontline.privacy erase --customer C1001
    python -m frontline.privacy erase --conversation rest:3f9c...
    python -m frontline.privacy retain

Stores come from the environment, as for the servers (``FRONTLINE_DATABASE_URL``,
``TRACKER_STORE_URL``, ``REDIS_URL``/``HANDOFF_QUEUE``, ``FRONTLINE_LOG_DIR``,
``SANDBOX_URL`` for the CRM). Prints what was done as JSON; exits 1 when a store
reported a problem (the rest was still done), 2 when it could not run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from frontline.errors import FrontlineError
from frontline.handoff.queue import create_from_settings
from frontline.policy import policies
from frontline.privacy.erasure import Stores, erase_conversation, erase_customer
from frontline.privacy.retention import apply_retention
from frontline.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m frontline.privacy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    erase = commands.add_parser("erase", help="erase one customer's or conversation's data")
    who = erase.add_mutually_exclusive_group(required=True)
    who.add_argument("--customer", help="a customer id (C1001)")
    who.add_argument("--conversation", help="a conversation id (Rasa's sender id)")
    commands.add_parser("retain", help="apply the data-handling policy's retention")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    try:
        with create_from_settings(settings) as queue:
            where = Stores.create(settings, queue)
            if args.command == "retain":
                report = apply_retention(where, policies().data_handling)
            elif args.customer:
                report = erase_customer(where, args.customer)
            else:
                report = erase_conversation(where, args.conversation)
    except FrontlineError as exc:
        print(f"ERR  {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    for problem in report.problems:
        print(f"WARN {problem}", file=sys.stderr)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())

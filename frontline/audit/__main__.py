"""``python -m frontline.audit``: verify or export the audit trail.

Commands:

* ``verify [--url URL] [--chain NAME | --all]``: checks the chain and its head; prints
  the head (keep it elsewhere to detect a rewrite of the whole chain) or the first bad
  record. Exit status 0 when the chain holds, 1 when it does not, 2 on errors.
* ``export [--url URL] [--chain NAME] [--conversation ID]``: the records as JSON lines,
  with personal data treated per the data-handling policy's ``exports`` place.

``--url`` defaults to ``FRONTLINE_DATABASE_URL`` and ``--chain`` to ``FRONTLINE_AUDIT_CHAIN``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from frontline.audit.chain import canonical_json
from frontline.audit.store import AuditStore
from frontline.errors import AuditError, ConfigurationError
from frontline.masking import mask_mapping
from frontline.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m frontline.audit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("verify", "check the hash chain"), ("export", "records as JSON lines")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--url", default=settings.database_url, help="SQLAlchemy URL")
        command.add_argument("--chain", default=settings.audit_chain, help="chain name")
    commands.choices["verify"].add_argument(
        "--all", action="store_true", help="verify every chain in the database"
    )
    commands.choices["export"].add_argument("--conversation", help="only this conversation")
    return parser


def verify(url: str, chains: Sequence[str]) -> int:
    """Verifies ``chains``; prints one line per chain. Returns the exit status."""
    status = 0
    for chain in chains:
        result = AuditStore(url, chain).verify()
        if result.ok:
            print(
                f"ok   chain {chain!r}: {result.records} records, "
                f"head seq {result.head_seq} {result.head_hash}"
            )
        else:
            status = 1
            print(f"BAD  chain {chain!r}: {result.first_bad}", file=sys.stderr)
    return status


def export(url: str, chain: str, conversation: str | None) -> int:
    """Prints the records as JSON lines, treated for the ``exports`` place."""
    for record in AuditStore(url, chain).iter_records(conversation):
        line = {
            "chain": record.chain,
            "seq": record.seq,
            "record_hash": record.record_hash,
            "recorded_at": record.recorded_at,
            "kind": record.kind,
            "conversation_id": record.conversation_id,
            "payload": mask_mapping("exports", record.payload),
        }
        print(canonical_json(line))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "verify":
            chains = AuditStore(args.url, args.chain).chains() if args.all else [args.chain]
            return verify(args.url, chains)
        return export(args.url, args.chain, args.conversation)
    except (AuditError, ConfigurationError, ValueError) as exc:
        print(f"ERR  {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

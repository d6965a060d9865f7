"""``python -m frontline.flags``: the kill switch and feature-flag overrides (docs/runbook.md).

Commands:

* ``kill-switch on --mode writes|messages --reason TEXT [--response NAME]``: every
  autonomous write goes to a person (``writes``), or every new customer message
  (``messages``), from the next message on every worker and instance;
* ``kill-switch off --reason TEXT``: undo; ``kill-switch status``: the state, who, since when;
* ``set FLAG on|off --reason TEXT [--channel C]... [--tier T]... [--percentage P]``: an
  override for a segment (everyone when none is given);
* ``clear OVERRIDE_ID --reason TEXT``: removes an override;
* ``list``: every flag, its file rules and the overrides in force;
* ``explain FLAG --conversation ID [--customer ID] [--channel C] [--tier T]``: what the
  flag is for one conversation, and which rule decided.

Who changes is ``FRONTLINE_OPERATOR`` (else the system user); every change is audited.
The database and Redis are the deployment's (``FRONTLINE_DATABASE_URL``, ``REDIS_URL``).
Exit status: 0 done, 1 refused (the message says why), 2 a dependency is down.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from frontline.errors import AuditError, ConfigurationError
from frontline.flags.admin import FlagAdmin, FlagChangeRefused, Operator
from frontline.flags.definitions import KILL_SWITCH_MESSAGES, KILL_SWITCH_WRITES
from frontline.flags.evaluation import FlagContext, resolve
from frontline.flags.store import FlagStoreError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m frontline.flags",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    kill = commands.add_parser("kill-switch", help="turn the kill switch on or off, or show it")
    kill.add_argument("state", choices=["on", "off", "status"])
    kill.add_argument("--mode", choices=[KILL_SWITCH_WRITES, KILL_SWITCH_MESSAGES])
    kill.add_argument("--reason", default="", help="why (recorded; agents see it)")
    kill.add_argument("--response", help="the customer-facing response (policies/flags.yml)")

    override = commands.add_parser("set", help="override a flag for a segment")
    override.add_argument("flag")
    override.add_argument("value", choices=["on", "off"])
    override.add_argument("--reason", default="")
    override.add_argument("--channel", action="append", default=[])
    override.add_argument("--tier", action="append", default=[])
    override.add_argument("--percentage", type=float)

    clear = commands.add_parser("clear", help="remove an override")
    clear.add_argument("override_id")
    clear.add_argument("--reason", default="")

    commands.add_parser("list", help="flags, their rules and the overrides in force")

    explain = commands.add_parser("explain", help="a flag's value for one conversation")
    explain.add_argument("flag")
    explain.add_argument("--conversation", required=True)
    explain.add_argument("--customer")
    explain.add_argument("--channel")
    explain.add_argument("--tier")
    return parser


def _kill_switch(admin: FlagAdmin, args: argparse.Namespace) -> int:
    if args.state == "status":
        state = admin.status()
        print(json.dumps(state.as_dict(), indent=2))
        return 0
    if args.state == "on" and not args.mode:
        raise FlagChangeRefused("say which: --mode writes or --mode messages")
    mode = args.mode if args.state == "on" else "off"
    state = admin.set_kill_switch(
        mode, Operator.from_environment(), args.reason, response=args.response
    )
    print(f"kill switch {state.mode} (by {state.actor}, {state.since}): {state.reason}")
    return 0


def _list(admin: FlagAdmin) -> int:
    snapshot = admin.snapshot()
    print(f"kill switch: {snapshot.kill_switch.mode}  (change counter {snapshot.version})")
    for key, flag in sorted(admin.policy.flags.items()):
        print(f"{key}: default {'on' if flag.default else 'off'}  {flag.description}")
        for rule in flag.rules:
            value = "on" if rule.value else "off"
            print(f"    flags.yml:{rule.rule_id}  {value} for {rule.segment.describe()}")
        for override in snapshot.overrides.get(key, ()):
            value = "on" if override.value else "off"
            print(
                f"    override:{override.override_id}  {value} for "
                f"{override.segment.describe()}  ({override.actor}, {override.created_at}: "
                f"{override.reason})"
            )
    return 0


def _explain(admin: FlagAdmin, args: argparse.Namespace) -> int:
    flag = admin.policy.flag(args.flag)
    if flag is None:
        raise FlagChangeRefused(f"no flag {args.flag!r}")
    context = FlagContext(args.conversation, args.customer, args.channel, args.tier)
    resolution = resolve(flag, admin.snapshot(), context)
    print(
        f"{flag.key}: {resolution.variant} ({resolution.reason}, "
        f"{resolution.rule or 'no rule matched'}) for {context.targeting_key}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        admin = FlagAdmin.from_settings()
        if args.command == "kill-switch":
            return _kill_switch(admin, args)
        if args.command == "set":
            override = admin.add_override(
                args.flag,
                args.value == "on",
                Operator.from_environment(),
                args.reason,
                channels=args.channel,
                tiers=args.tier,
                percentage=args.percentage,
            )
            print(
                f"{override.override_id}: {args.flag} {args.value} "
                f"for {override.segment.describe()}"
            )
            return 0
        if args.command == "clear":
            removed = admin.remove_override(
                args.override_id, Operator.from_environment(), args.reason
            )
            print(f"removed {removed.override_id} ({removed.flag_key})")
            return 0
        if args.command == "list":
            return _list(admin)
        return _explain(admin, args)
    except FlagChangeRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    except (FlagStoreError, AuditError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

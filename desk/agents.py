"""``python -m desk.agents``: manage the agents who sign in to the desk.

Examples::

    python -m desk.agents add --name ana --role supervisor     # asks for the password
    python -m desk.agents add --name ben --display-name "Ben"  # customers see "Ben"
    echo "$PASSWORD" | python -m desk.agents add --name ben    # or reads it from stdin
    DESK_AGENT_PASSWORD=... python -m desk.agents password --name ben
    python -m desk.agents list
    python -m desk.agents disable --name ben

Passwords come from ``DESK_AGENT_PASSWORD``, else from standard input (typed twice when
it is a terminal); never from the command line, where other users could see them.
The database is Frontline's (``FRONTLINE_DATABASE_URL``, else ``var/frontline.db``).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from desk.accounts.model import AccountError
from desk.accounts.store import AgentStore
from frontline.errors import FrontlineError
from frontline.handoff.transitions import AGENT, ROLES
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

PASSWORD_ENV = "DESK_AGENT_PASSWORD"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m desk.agents", description="Manage the agents of the Frontline desk."
    )
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL (default: FRONTLINE_DATABASE_URL or var/frontline.db)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create an agent")
    add.add_argument("--name", required=True, help="sign-in name, e.g. ana")
    add.add_argument("--role", choices=ROLES, default=AGENT)
    add.add_argument("--display-name", help='the name customers see (default: "Support team")')
    display = commands.add_parser("display-name", help="change the name customers see")
    display.add_argument("--name", required=True)
    display.add_argument("--display-name", required=True, help='"" for "Support team"')
    password = commands.add_parser("password", help="set an agent's password")
    password.add_argument("--name", required=True)
    role = commands.add_parser("role", help="change an agent's role")
    role.add_argument("--name", required=True)
    role.add_argument("--role", choices=ROLES, required=True)
    for command in ("disable", "enable"):
        commands.add_parser(command, help=f"{command} an agent").add_argument(
            "--name", required=True
        )
    commands.add_parser("list", help="list the agents")
    return parser.parse_args(argv)


def read_password(stdin: TextIO, env: dict[str, str]) -> str:
    """The new password: from the environment, else typed twice, else one stdin line.

    Raises:
        AccountError: The two typed passwords differ, or none was given.
    """
    if env.get(PASSWORD_ENV):
        return env[PASSWORD_ENV]
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise AccountError("the passwords differ")
        return first
    line = stdin.readline().rstrip("\r\n")
    if not line:
        raise AccountError(f"no password on standard input or in {PASSWORD_ENV}")
    return line


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    env: dict[str, str] | None = None,
) -> int:
    """Runs one command; returns the exit status."""
    args = parse_args(argv)
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    env = dict(os.environ if env is None else env)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    store = AgentStore(args.database_url or get_settings().database_url)
    try:
        if args.command == "add":
            agent = store.add_agent(
                args.name, args.role, read_password(stdin, env), args.display_name
            )
            print(f"Created {agent.role} {agent.name}.", file=stdout)
        elif args.command == "password":
            store.set_password(args.name, read_password(stdin, env))
            print(f"Changed the password of {args.name}; their sessions ended.", file=stdout)
        elif args.command == "display-name":
            store.set_display_name(args.name, args.display_name or None)
            print(
                f"Customers now see {args.name} as {args.display_name or 'Support team'}.",
                file=stdout,
            )
        elif args.command == "role":
            store.set_role(args.name, args.role)
            print(f"{args.name} is now a {args.role}; their sessions ended.", file=stdout)
        elif args.command in ("disable", "enable"):
            store.set_active(args.name, args.command == "enable")
            print(f"{args.command.capitalize()}d {args.name}.", file=stdout)
        else:
            for agent in store.list_agents():
                state = "" if agent.active else "  (disabled)"
                shown = f"  shown as {agent.display_name!r}" if agent.display_name else ""
                print(f"{agent.name:<24} {agent.role}{shown}{state}", file=stdout)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FrontlineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""An agent account as the desk sees it, the checks of its fields, and the errors."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from frontline.errors import FrontlineError
from frontline.handoff.transitions import ROLES

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MAX_DISPLAY_NAME_LENGTH = 64


@dataclass(frozen=True)
class Agent:
    """A human agent who signs in to the desk.

    Attributes:
        name: The agent's sign-in name; also their id on the handoff queue.
        role: ``agent`` or ``supervisor``.
        active: Disabled agents cannot sign in.
        display_name: How customers see the agent ("Ana"); None shows "Support team".
            The sign-in name is never shown to customers.
    """

    name: str
    role: str
    active: bool = True
    display_name: str | None = None

    def public(self) -> dict[str, object]:
        """What the desk's API shows of the agent: every attribute."""
        return dataclasses.asdict(self)


class AccountError(FrontlineError):
    """An agent account cannot be created or changed as asked."""


class AccountStoreUnavailable(FrontlineError):
    """The database of agents and sessions could not be used."""


def check_name(name: str) -> str:
    """Checks an agent name: 2-64 characters, lowercase letters, digits, ``.``, ``_``, ``-``.

    Raises:
        AccountError: The name does not fit.
    """
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise AccountError(
            "agent names have 2 to 64 characters: lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_display_name(display_name: str | None) -> str | None:
    """Checks a display name: printable, at most 64 characters; empty means none.

    Raises:
        AccountError: The name does not fit.
    """
    if display_name is None:
        return None
    if not isinstance(display_name, str):
        raise AccountError("the display name must be text")
    display_name = " ".join(display_name.split())
    if len(display_name) > MAX_DISPLAY_NAME_LENGTH or not display_name.isprintable():
        raise AccountError(f"display names are printable, at most {MAX_DISPLAY_NAME_LENGTH} long")
    return display_name or None


def check_role(role: str) -> str:
    """Checks a role.

    Raises:
        AccountError: Not one of the desk's roles.
    """
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role

"""What every route of the desk needs, made once per app and handed to routes explicitly.

:func:`create_app <desk.app.create_app>` builds one :class:`DeskContext` and keeps it on
the app; a route reads it with :func:`desk_of`. Nothing is captured in closures, so a
route module is a plain list of functions that a newcomer can read on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sanic import Request

from desk.accounts.store import AgentStore
from desk.accounts.throttle import SignInThrottle
from frontline.connectors.rasa import RasaClient
from frontline.handoff.base import HandoffQueue
from frontline.handoff.desk import DeskService
from frontline.settings import Settings


def _name_throttle() -> SignInThrottle:
    # Guessing one agent's password stops after a few tries.
    return SignInThrottle(max_failures=5)


def _address_throttle() -> SignInThrottle:
    # One address spraying many names stops a little later (a shared office address
    # keeps some room).
    return SignInThrottle(max_failures=30)


@dataclass
class DeskContext:
    """The desk's shared parts.

    Attributes:
        settings: The configuration.
        queue: The handoff queue.
        store: Agents and sessions.
        rasa: The Rasa HTTP API client.
        service: What agents do with conversations (over ``queue`` and ``rasa``).
        name_throttle: Failed sign-ins per agent name.
        address_throttle: Failed sign-ins per client address.
        tasks: The background tasks while the server runs.
    """

    settings: Settings
    queue: HandoffQueue
    store: AgentStore
    rasa: RasaClient
    service: DeskService
    name_throttle: SignInThrottle = field(default_factory=_name_throttle)
    address_throttle: SignInThrottle = field(default_factory=_address_throttle)
    tasks: list[Any] = field(default_factory=list)

    @property
    def session_max_age(self) -> int:
        """Seconds a session cookie lives at most."""
        return int(self.settings.desk_session_hours * 3600)


def desk_of(request: Request) -> DeskContext:
    """The context of the desk app serving ``request``."""
    desk: DeskContext = request.app.ctx.desk
    return desk

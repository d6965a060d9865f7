"""What every route of the desk needs, made once per app and handed to routes explicitly.

:func:`create_app <desk.app.create_app>` builds one :class:`DeskContext` and keeps it on
the app; a route reads it with :func:`desk_of`. Nothing is captured in closures, so a
route module is a plain list of functions that a newcomer can read on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sanic import Request

from desk.accounts.checks import PasswordChecks
from desk.accounts.store import AgentStore
from desk.accounts.throttle import DeviceTokens, SignInThrottle
from frontline.connectors.rasa import RasaClient
from frontline.handoff.base import HandoffQueue
from frontline.handoff.desk import DeskService
from frontline.settings import Settings


def _name_throttle() -> SignInThrottle:
    # Guessing one agent's password slows down after a few tries (1 s, 2 s, ... 15 min).
    return SignInThrottle(5, base_delay=1.0, max_delay=900.0)


def _address_throttle() -> SignInThrottle:
    # One address spraying many names slows down a little later (a shared office address
    # keeps some room), never for long, and agents with a device token skip it.
    return SignInThrottle(30, base_delay=1.0, max_delay=60.0, max_in_flight=4)


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
        devices: Device tokens of browsers that signed in (skip the address's backoff).
        password_checks: The bounded pool that checks passwords off the event loop.
        tasks: The background tasks while the server runs.
    """

    settings: Settings
    queue: HandoffQueue
    store: AgentStore
    rasa: RasaClient
    service: DeskService
    name_throttle: SignInThrottle = field(default_factory=_name_throttle)
    address_throttle: SignInThrottle = field(default_factory=_address_throttle)
    devices: DeviceTokens = field(default_factory=DeviceTokens)
    password_checks: PasswordChecks = field(default_factory=PasswordChecks)
    tasks: list[Any] = field(default_factory=list)

    @property
    def session_max_age(self) -> int:
        """Seconds a session cookie lives at most."""
        return int(self.settings.desk_session_hours * 3600)


def desk_of(request: Request) -> DeskContext:
    """The context of the desk app serving ``request``."""
    desk: DeskContext = request.app.ctx.desk
    return desk

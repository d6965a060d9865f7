"""The agent desk: a small Sanic app serving the desk page and its JSON API.

:func:`create_app` builds the desk's parts once (:class:`~desk.context.DeskContext`)
and registers each route module of :mod:`desk.routes`:

* :mod:`desk.routes.auth`: sign-in and -out, ``/api/me``, and the check that every
  other ``/api/`` request comes from this site with a live session;
* :mod:`desk.routes.static`: the page, its script and style sheet, ``/health``;
* :mod:`desk.routes.metrics`: ``/metrics`` for Prometheus (no session);
* :mod:`desk.routes.queue`: ``/api/queue`` and the heartbeat;
* :mod:`desk.routes.agents`: the agents, for supervisors;
* :mod:`desk.routes.conversations`: one conversation and what an agent does with it.

The JSON conventions (answers, errors, request checks) are in :mod:`desk.api`, the
browser protections in :mod:`desk.security`, the background loops in
:mod:`desk.background`.
"""

from __future__ import annotations

import itertools
import os
from datetime import timedelta

from sanic import Sanic
from sanic.exceptions import SanicException

from desk import background
from desk.accounts.store import AgentStore
from desk.api import sanic_error, unexpected_error
from desk.context import DeskContext
from desk.routes import ROUTE_MODULES
from desk.security import add_security_headers
from frontline.connectors.rasa import RasaClient
from frontline.errors import ConfigurationError
from frontline.handoff.base import HandoffQueue
from frontline.handoff.desk import DeskService
from frontline.handoff.queue import create_from_settings
from frontline.settings import Settings, get_settings

REQUEST_MAX_SIZE = 64 * 1024

_app_numbers = itertools.count(1)


def create_app(
    settings: Settings | None = None,
    *,
    queue: HandoffQueue | None = None,
    store: AgentStore | None = None,
    rasa: RasaClient | None = None,
) -> Sanic:
    """Creates the desk app; nothing connects until a request or the server starts.

    Args:
        settings: Configuration (from the environment by default).
        queue: The handoff queue (default: the one the settings describe).
        store: Agents and sessions (default: in the settings' database).
        rasa: The Rasa API client (default: ``RASA_URL`` with ``RASA_AUTH_TOKEN``).

    Raises:
        ConfigurationError: ``RASA_AUTH_TOKEN`` is missing, or the queue settings are bad.
    """
    settings = settings or get_settings()
    rasa = rasa or RasaClient(settings.rasa_url, settings.rasa_auth_token, settings.http_timeout)
    queue = queue or create_from_settings(settings)
    store = store or AgentStore(
        settings.database_url,
        lifetime=timedelta(hours=settings.desk_session_hours),
        idle=timedelta(minutes=settings.desk_idle_minutes),
    )
    desk = DeskContext(settings, queue, store, rasa, DeskService(queue, rasa))

    app = Sanic(f"frontline_desk_{os.getpid()}_{next(_app_numbers)}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = REQUEST_MAX_SIZE
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.MOTD = False
    app.ctx.desk = desk
    background.register(app)
    for module in ROUTE_MODULES:
        module.register(app)
    app.register_middleware(add_security_headers, "response")
    app.error_handler.add(SanicException, sanic_error)
    app.error_handler.add(Exception, unexpected_error)
    return app


def check_configuration(settings: Settings) -> None:
    """Fails fast on settings the desk cannot run with.

    Raises:
        ConfigurationError: No Rasa token, or an invalid queue configuration.
    """
    RasaClient(settings.rasa_url, settings.rasa_auth_token, settings.http_timeout)
    create_from_settings(settings).close()
    if settings.desk_session_hours <= 0 or settings.desk_idle_minutes <= 0:
        raise ConfigurationError("DESK_SESSION_HOURS and DESK_IDLE_MINUTES must be positive")

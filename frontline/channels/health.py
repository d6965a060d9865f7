"""``/health/live`` and ``/health/ready`` of the Rasa server, and its outbox delivery.

Through Rasa's documented seam, an input channel that takes no messages
(``credentials.yml``: ``frontline.channels.health.HealthInput:``); its prefix is
``/health``. Readiness reports each dependency (:mod:`frontline.resilience.health`): the
tracker store, the lock store's Redis (when ``REDIS_URL`` is set), the action server,
the handoff queue and Frontline's database with the handoffs waiting in the outbox.

The channel also runs the outbox's delivery in the background
(:class:`frontline.resilience.outbox.OutboxDeliverer`): handoffs recorded while the
queue was unreachable go to it as soon as it answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from frontline.resilience import health
from frontline.resilience.outbox import OutboxDeliverer
from frontline.resilience.turn import (
    ACTION_SERVER,
    DATABASE,
    LOCK_STORE,
    QUEUE,
    TRACKER_STORE,
)
from frontline.services.handoff import handoff_outbox, handoff_queue
from frontline.settings import Settings, get_settings

SERVICE = "rasa"
#: A conversation id no channel can produce (checked for existence, never created).
PROBE_CONVERSATION = "frontline-health:probe"


def rasa_checks(app: Any, settings: Settings) -> dict[str, health.Check]:
    """The Rasa server's dependencies, each a check."""
    agent = getattr(app.ctx, "agent", None)
    timeout = settings.health_timeout

    async def tracker_store() -> str:
        store = getattr(agent, "tracker_store", None)
        if store is None:
            raise RuntimeError("no tracker store (the model is not loaded)")
        # Rasa wraps the configured store in a FailSafeTrackerStore, which answers from
        # an empty in-memory store when the real one fails: ask the real one.
        configured = getattr(store, "_tracker_store", store)
        await configured.exists(PROBE_CONVERSATION)
        return f"{type(configured).__name__} answers"

    async def memory_lock_store() -> str:
        return "in memory (REDIS_URL not set)"

    async def no_action_server() -> str:
        raise RuntimeError("no action endpoint configured")

    endpoint = getattr(getattr(agent, "action_endpoint", None), "url", None)
    return {
        TRACKER_STORE: tracker_store,
        LOCK_STORE: (
            health.redis_check(settings.redis_url, timeout)
            if settings.redis_url
            else memory_lock_store
        ),
        ACTION_SERVER: (
            health.http_check(health.with_path(endpoint, "/health/live"), timeout)
            if endpoint
            else no_action_server
        ),
        QUEUE: health.queue_check(handoff_queue),
        DATABASE: health.outbox_check(handoff_outbox()),
    }


class HealthInput(InputChannel):
    """Serves the health checks and delivers the outbox; takes no messages."""

    def __init__(self) -> None:
        self.deliverer: OutboxDeliverer | None = None

    @classmethod
    def name(cls) -> str:
        return "frontline_health"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> HealthInput:
        return cls()

    def url_prefix(self) -> str:
        return "/health"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("frontline_health", __name__)

        @blueprint.route("/", methods=["GET"])
        async def live_compat(_: Request) -> HTTPResponse:
            return response.json(health.liveness(SERVICE))

        @blueprint.route("/live", methods=["GET"])
        async def live(_: Request) -> HTTPResponse:
            return response.json(health.liveness(SERVICE))

        @blueprint.route("/ready", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            settings = get_settings()
            status, body = await health.readiness(
                SERVICE, rasa_checks(request.app, settings), settings.health_timeout
            )
            return response.json(body, status=status)

        @blueprint.listener("after_server_start")
        async def deliver_the_outbox(_app: Any, _loop: Any) -> None:
            self.deliverer = OutboxDeliverer(
                handoff_outbox(), handoff_queue, get_settings().outbox_retry_seconds
            )
            self.deliverer.start()

        @blueprint.listener("before_server_stop")
        async def stop_delivering(_app: Any, _loop: Any) -> None:
            if self.deliverer is not None:
                await self.deliverer.stop()

        return blueprint

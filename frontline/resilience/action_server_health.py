"""``/health/live`` and ``/health/ready`` of the action server, and its outbox delivery.

A rasa-sdk plug-in (its documented ``attach_sanic_app_extensions`` hook), registered by
``python -m frontline.action_server``. rasa-sdk's own ``GET /health`` stays (liveness).
Readiness reports Frontline's database (with the handoffs waiting in the outbox), the
handoff queue and the backends (CRM, orders, billing at ``SANDBOX_URL``). The plug-in
also runs the outbox's delivery: a handoff the action recorded while the queue was down
goes to it as soon as it answers.
"""

from __future__ import annotations

from typing import Any

import pluggy
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from frontline.resilience import health
from frontline.resilience.outbox import OutboxDeliverer
from frontline.resilience.turn import BACKENDS, DATABASE, QUEUE
from frontline.services.handoff import handoff_outbox, handoff_queue
from frontline.settings import Settings, get_settings

hookimpl = pluggy.HookimplMarker("rasa_sdk")
SERVICE = "actions"


def action_server_checks(settings: Settings) -> dict[str, health.Check]:
    """The action server's dependencies, each a check."""
    return {
        DATABASE: health.outbox_check(handoff_outbox()),
        QUEUE: health.queue_check(handoff_queue),
        BACKENDS: health.http_check(f"{settings.sandbox_url}/health", settings.health_timeout),
    }


async def live(_: Request) -> HTTPResponse:
    return response.json(health.liveness(SERVICE))


async def ready(_: Request) -> HTTPResponse:
    settings = get_settings()
    status, body = await health.readiness(
        SERVICE, action_server_checks(settings), settings.health_timeout
    )
    return response.json(body, status=status)


class ActionServerHealth:
    """rasa-sdk plug-in: the health routes and the outbox's delivery (see module)."""

    def __init__(self) -> None:
        self.deliverer: OutboxDeliverer | None = None

    @hookimpl
    def attach_sanic_app_extensions(self, app: Any) -> None:
        app.add_route(live, "/health/live", methods=["GET"], name="frontline_health_live")
        app.add_route(ready, "/health/ready", methods=["GET"], name="frontline_health_ready")
        app.register_listener(self._start, "after_server_start")
        app.register_listener(self._stop, "before_server_stop")

    async def _start(self, _app: Any, _loop: Any) -> None:
        self.deliverer = OutboxDeliverer(
            handoff_outbox(), handoff_queue, get_settings().outbox_retry_seconds
        )
        self.deliverer.start()

    async def _stop(self, _app: Any, _loop: Any) -> None:
        if self.deliverer is not None:
            await self.deliverer.stop()

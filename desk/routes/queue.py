"""The queue as the signed-in agent sees it, and the heartbeat that keeps their leases.

* ``GET /api/queue``: pending entries, the agent's own, and (supervisors) every claimed.
* ``POST /api/heartbeat``: renews the leases of everything the agent holds; answers
  what they still hold.
"""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from desk.api import entry_detail_card, json_api, json_response
from desk.context import desk_of
from frontline.handoff.entry import utcnow


async def heartbeat(request: Request) -> HTTPResponse:
    """Renews the agent's leases."""
    held = await desk_of(request).service.heartbeat(request.ctx.actor)
    now = utcnow()
    return json_response({"held": [entry_detail_card(entry, now) for entry in held]})


async def queue_view(request: Request) -> HTTPResponse:
    """The queue for this agent."""
    return json_response(await desk_of(request).service.queue_view(request.ctx.actor))


def register(app: Sanic) -> None:
    """``/api/heartbeat`` and ``/api/queue``."""
    app.add_route(json_api(heartbeat), "/api/heartbeat", methods=["POST"])
    app.add_route(json_api(queue_view), "/api/queue", methods=["GET"])

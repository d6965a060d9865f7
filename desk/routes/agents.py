"""The desk's agents, for supervisors: ``GET /api/agents``."""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from desk.api import json_api, json_response, require_supervisor
from desk.context import desk_of
from frontline.handoff.base import run_blocking


async def agents(request: Request) -> HTTPResponse:
    """Every agent, by name (supervisors only)."""
    require_supervisor(request)
    listed = await run_blocking(desk_of(request).store.list_agents)
    return json_response({"agents": [agent.public() for agent in listed]})


def register(app: Sanic) -> None:
    """``/api/agents``."""
    app.add_route(json_api(agents), "/api/agents", methods=["GET"])

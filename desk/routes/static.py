"""The page itself, its script and style sheet, and the health check (no sign-in needed).

They hold no data, so they are served to anyone (the sign-in form is part of them).
"""

from __future__ import annotations

from pathlib import Path

from sanic import Request, Sanic
from sanic.response import HTTPResponse, file

from desk.api import json_response
from desk.context import desk_of
from frontline.resilience import health as resilience_health
from frontline.resilience.turn import DATABASE, QUEUE

SERVICE = "desk"

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


async def index(request: Request) -> HTTPResponse:
    """The desk page."""
    return await file(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})


async def health(request: Request) -> HTTPResponse:
    """``{"status": "ok"}`` while the desk serves (liveness, as ``/health/live``)."""
    return json_response({"status": "ok"})


async def live(request: Request) -> HTTPResponse:
    """Liveness: the desk serves (checks nothing else)."""
    return json_response(resilience_health.liveness(SERVICE))


async def ready(request: Request) -> HTTPResponse:
    """Readiness: the queue, the database (agents, sessions) and the Rasa server, each."""
    desk = desk_of(request)
    settings = desk.settings
    timeout = settings.health_timeout
    checks = {
        QUEUE: resilience_health.queue_check(lambda: desk.queue),
        DATABASE: resilience_health.sql_check(settings.database_url),
        "rasa": resilience_health.http_check(f"{settings.rasa_url}/health/live", timeout),
    }
    status, body = await resilience_health.readiness(SERVICE, checks, timeout)
    return json_response(body, status=status)


def register(app: Sanic) -> None:
    """``GET /``, ``GET /health``, ``/health/live``, ``/health/ready`` and ``/static/...``."""
    app.add_route(index, "/", methods=["GET"])
    app.add_route(health, "/health", methods=["GET"])
    app.add_route(live, "/health/live", methods=["GET"])
    app.add_route(ready, "/health/ready", methods=["GET"])
    app.static("/static", str(STATIC_DIR), name="static")

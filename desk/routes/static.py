"""The page itself, its script and style sheet, and the health check (no sign-in needed).

They hold no data, so they are served to anyone (the sign-in form is part of them).
"""

from __future__ import annotations

from pathlib import Path

from sanic import Request, Sanic
from sanic.response import HTTPResponse, file

from desk.api import json_response

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


async def index(request: Request) -> HTTPResponse:
    """The desk page."""
    return await file(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})


async def health(request: Request) -> HTTPResponse:
    """``{"status": "ok"}`` while the desk serves."""
    return json_response({"status": "ok"})


def register(app: Sanic) -> None:
    """``GET /``, ``GET /health`` and ``/static/...``."""
    app.add_route(index, "/", methods=["GET"])
    app.add_route(health, "/health", methods=["GET"])
    app.static("/static", str(STATIC_DIR), name="static")

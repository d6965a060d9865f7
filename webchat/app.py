"""The web chat's Sanic app: the demo page, the widget's files and ``config.json``."""

from __future__ import annotations

import itertools
import logging
import os
from pathlib import Path

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from webchat.config import WebChatConfig

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
#: The files served, by URL path: (route name, file, content type).
FILES = {
    "/": ("index", "index.html", "text/html; charset=utf-8"),
    "/frontline-chat.js": ("script", "frontline-chat.js", "text/javascript; charset=utf-8"),
    "/frontline-chat.css": ("styles", "frontline-chat.css", "text/css; charset=utf-8"),
}
_app_numbers = itertools.count(1)


def content_security_policy(config: WebChatConfig) -> str:
    """The demo page's CSP: our own files only, and the assistant's socket."""
    http_origin, ws_origin = config.socket_origins
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {http_origin} {ws_origin}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def create_app(config: WebChatConfig | None = None) -> Sanic:
    """Builds the app; the static files are read once, here.

    Args:
        config: Settings; read from the environment when omitted.
    """
    config = config or WebChatConfig.from_env()
    app = Sanic(f"frontline_webchat_{os.getpid()}_{next(_app_numbers)}", configure_logging=False)
    app.config.MOTD = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.config = config
    files = {path: ((STATIC / name).read_bytes(), kind) for path, (_, name, kind) in FILES.items()}
    security = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    page_security = security | {"Content-Security-Policy": content_security_policy(config)}

    async def static_file(request: Request) -> HTTPResponse:
        body, kind = files[request.path]
        headers = dict(page_security if request.path == "/" else security)
        headers["Cache-Control"] = "no-cache"  # revalidate: a new release shows at once
        if request.path != "/":
            headers["Access-Control-Allow-Origin"] = "*"  # embeddable on the company's site
        return HTTPResponse(body, content_type=kind, headers=headers)

    async def public_config(request: Request) -> HTTPResponse:
        headers = security | {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"}
        return json(config.public(), headers=headers)

    async def health(request: Request) -> HTTPResponse:
        return json({"status": "ok"})

    for path, (route_name, _, _) in FILES.items():
        app.add_route(static_file, path, methods=["GET", "HEAD"], name=route_name)
    app.add_route(public_config, "/config.json", methods=["GET"])
    app.add_route(health, "/health", methods=["GET"])
    return app

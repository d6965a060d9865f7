"""Signing in and out, who is signed in, and the check of every ``/api/`` request.

* ``POST /api/session`` signs in ``{"name", "password", "bearer"?}`` (the token in the
  answer only with ``"bearer": true``; browsers get the cookie); ``DELETE`` signs out.
* ``GET /api/me``: the agent, the lease and heartbeat timings, the resolution codes.

Every other ``/api/`` request needs a live session (a bearer token or the cookie), and
requests whose ``Origin`` is another site are refused.
"""

from __future__ import annotations

import contextlib
import logging
import math
from typing import Any
from urllib.parse import urlsplit

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from desk.accounts.checks import ChecksBusy
from desk.accounts.model import AccountStoreUnavailable
from desk.api import (
    ApiError,
    accounts_unavailable,
    error_response,
    json_api,
    json_body,
    json_response,
)
from desk.context import desk_of
from desk.security import DEVICE_COOKIE, DEVICE_MAX_AGE, set_cookie, token_of
from frontline.handoff.base import run_blocking
from frontline.handoff.desk import MAX_REPLY_LENGTH, RESOLUTION_CODES, Actor
from frontline.handoff.entry import AlreadyClaimed, AlreadyResolved, NotOwner

logger = logging.getLogger(__name__)


async def authenticate(request: Request) -> HTTPResponse | None:
    """Request middleware: refuses cross-site and signed-out ``/api/`` requests.

    A request that passes carries ``request.ctx.agent``, ``actor`` and ``token``.
    """
    if not request.path.startswith("/api/"):
        return None
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        return error_response(ApiError(403, "cross_origin", "Cross-site requests are refused."))
    if request.path == "/api/session" and request.method == "POST":
        return None
    token = token_of(request)
    try:
        agent = await run_blocking(desk_of(request).store.session_agent, token) if token else None
    except AccountStoreUnavailable as exc:
        logger.error("%s", exc)
        return error_response(accounts_unavailable())
    if agent is None:
        return error_response(ApiError(401, "unauthenticated", "Sign in to use the desk."))
    request.ctx.agent = agent
    request.ctx.actor = Actor(agent.name, agent.role, agent.display_name)
    request.ctx.token = token
    return None


async def sign_in(request: Request) -> HTTPResponse:
    """Checks the name and password (throttled, off the event loop); starts a session.

    The agent name and the client address each back off after failures; a browser
    holding a device token for this name (given at its last sign-in) skips the address's
    backoff, so guessing from a shared address cannot lock the other agents out.
    """
    desk = desk_of(request)
    body = json_body(request)
    name = body.get("name")
    password = body.get("password")
    if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
        raise ApiError(400, "invalid_request", "Give a name and a password.")
    device = request.cookies.get(DEVICE_COOKIE)
    trusted = desk.devices.valid(device, name)
    name_keys = (name.lower(),)
    address_keys = () if trusted else (request.ip or "unknown",)
    # No await between the checks and the admissions: nothing else runs in between.
    wait = max(
        desk.name_throttle.retry_after(*name_keys),
        desk.address_throttle.retry_after(*address_keys),
    )
    if wait:
        return _too_many(wait)
    desk.name_throttle.admit(*name_keys)
    desk.address_throttle.admit(*address_keys)
    agent, checked = None, False
    try:
        agent = await desk.password_checks.run(desk.store.authenticate, name, password)
        checked = True
    except ChecksBusy:
        return _too_many(1.0, "busy", "Many sign-ins are being checked; try again shortly.")
    finally:
        failed = checked and agent is None
        desk.name_throttle.finish(*name_keys, failed=failed, forget=agent is not None)
        desk.address_throttle.finish(*address_keys, failed=failed)
    if agent is None:
        desk.devices.revoke(device if trusted else None)
        raise ApiError(401, "bad_credentials", "Unknown name or wrong password.")
    token = await run_blocking(desk.store.start_session, agent)
    body_out: dict[str, Any] = {"agent": agent.public()}
    if body.get("bearer") is True:
        body_out["token"] = token  # for API clients; browsers get the cookie only
    response = json_response(body_out)
    secure = desk.settings.desk_secure_cookies
    set_cookie(request, response, token, desk.session_max_age, secure=secure)
    set_cookie(
        request,
        response,
        desk.devices.issue(name),
        DEVICE_MAX_AGE,
        secure=secure,
        name=DEVICE_COOKIE,
    )
    return response


def _too_many(
    wait: float,
    code: str = "too_many_attempts",
    message: str = "Too many failed sign-ins; wait a little and try again.",
) -> HTTPResponse:
    seconds = max(math.ceil(wait), 1)
    error = ApiError(429, code, message, {"retry_after": seconds})
    response = error_response(error)
    response.headers["Retry-After"] = str(seconds)
    return response


async def sign_out(request: Request) -> HTTPResponse:
    """Ends the session; the agent's last session gives their conversations back."""
    desk = desk_of(request)
    agent, remaining = await run_blocking(desk.store.end_session, request.ctx.token)
    released: list[str] = []
    if agent is not None and remaining == 0:
        # The agent's last session: give their conversations back at once.
        actor = Actor(agent.name, agent.role)
        for entry in await run_blocking(desk.queue.held_by, agent.name):
            with contextlib.suppress(NotOwner, AlreadyClaimed, AlreadyResolved):
                await desk.service.release(actor, entry.entry_id)
                released.append(entry.entry_id)
    response = json_response({"signed_out": True, "released": released})
    set_cookie(request, response, "", 0, secure=desk.settings.desk_secure_cookies)
    return response


async def me(request: Request) -> HTTPResponse:
    """The signed-in agent and what the page needs to work with the queue."""
    lease_seconds = desk_of(request).queue.lease_seconds
    return json_response(
        {
            "agent": request.ctx.agent.public(),
            "lease_seconds": lease_seconds,
            "heartbeat_seconds": max(min(lease_seconds / 3, 20.0), 0.5),
            "resolution_codes": list(RESOLUTION_CODES),
            "max_reply_length": MAX_REPLY_LENGTH,
        }
    )


def register(app: Sanic) -> None:
    """The check of every request, ``/api/session`` and ``/api/me``."""
    app.register_middleware(authenticate, "request")
    app.add_route(json_api(sign_in), "/api/session", methods=["POST"])
    app.add_route(json_api(sign_out), "/api/session", methods=["DELETE"])
    app.add_route(json_api(me), "/api/me", methods=["GET"])

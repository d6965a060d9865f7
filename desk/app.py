"""The agent desk: a small Sanic app serving the desk page and its JSON API.

Every ``/api/`` request needs a live session (the sign-in itself aside): the browser
carries it in an HttpOnly, ``SameSite=Strict`` cookie (``Secure`` over HTTPS), which
browsers never send with cross-site requests, so the cookie cannot be used for CSRF;
API clients send ``Authorization: Bearer <token>``. Requests whose ``Origin`` is
another site are refused as well. The page, its script and its style sheet hold no
data and are served to anyone (the sign-in form is part of them).

Routes (JSON):

* ``POST /api/session`` sign in ``{"name", "password", "bearer"?}``; ``DELETE`` signs out
* ``GET /api/me``, ``POST /api/heartbeat`` (renews the agent's leases), ``GET /api/queue``
* ``GET /api/agents`` (supervisors), ``GET /api/entries/<id>``
* ``GET /metrics`` Prometheus (no session; ``FRONTLINE_METRICS_TOKEN`` as bearer if set)
* ``POST /api/entries/<id>/claim | release | reply | resolve | hand-back | reassign``
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse, file

from desk.accounts import (
    AccountStoreUnavailable,
    Agent,
    AgentStore,
    SignInThrottle,
)
from frontline.connectors.rasa import RasaClient
from frontline.errors import BackendError, ConfigurationError, QueueError
from frontline.handoff.base import (
    AlreadyClaimed,
    AlreadyResolved,
    EntryNotFound,
    HandoffQueue,
    NotOwner,
    QueueEntry,
    utcnow,
)
from frontline.handoff.desk import (
    MAX_REPLY_LENGTH,
    RESOLUTION_CODES,
    Actor,
    DeskService,
    HandBackFailed,
    NotAllowed,
    entry_detail,
)
from frontline.handoff.queue import create_from_settings
from frontline.metrics.prometheus import registry_for, sanic_handler
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.settings import Settings, get_settings

logger = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[..., Awaitable[HTTPResponse]]

STATIC_DIR = Path(__file__).resolve().parent / "static"
COOKIE_NAME = "frontline_desk"
MAX_ENTRY_ID_LENGTH = 64
REQUEST_MAX_SIZE = 64 * 1024
#: Seconds between two purges of ended sessions.
PURGE_EVERY_SECONDS = 600.0

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_app_numbers = itertools.count(1)


class ApiError(Exception):
    """An HTTP error answer: status, a stable code and a message for people."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def json_response(body: Any, status: int = 200) -> HTTPResponse:
    """A JSON answer that no cache keeps."""
    return HTTPResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


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
    service = DeskService(queue, rasa)
    # Guessing one agent's password stops after a few tries; one address spraying many
    # names stops a little later (a shared office address keeps some room).
    name_throttle = SignInThrottle(max_failures=5)
    address_throttle = SignInThrottle(max_failures=30)
    max_age = int(settings.desk_session_hours * 3600)

    app = Sanic(f"frontline_desk_{os.getpid()}_{next(_app_numbers)}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = REQUEST_MAX_SIZE
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.MOTD = False
    app.ctx.service = service
    app.ctx.store = store
    app.ctx.tasks = []

    async def blocking(function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)

    # -- background work -----------------------------------------------------------

    async def redeliver_forever() -> None:
        """Offers new handoffs and re-offers those whose agent went silent."""
        every = max(min(queue.lease_seconds / 3, 10.0), 0.2)
        while True:
            try:
                await service.deliver()
            except QueueError as exc:
                logger.warning("Could not re-offer lapsed handoffs: %s", exc)
            await asyncio.sleep(every)  # the pace of the background loop

    async def purge_forever() -> None:
        while True:
            try:
                purged = await blocking(store.purge_sessions)
                if purged:
                    logger.info("Purged %d ended desk sessions", purged)
            except AccountStoreUnavailable as exc:
                logger.warning("Could not purge desk sessions: %s", exc)
            await asyncio.sleep(PURGE_EVERY_SECONDS)  # the pace of the background loop

    async def start_background(app: Sanic, _loop: object) -> None:
        app.ctx.tasks = [
            asyncio.ensure_future(redeliver_forever()),
            asyncio.ensure_future(purge_forever()),
        ]

    async def stop_background(app: Sanic, _loop: object) -> None:
        for task in app.ctx.tasks:
            task.cancel()
        for task in app.ctx.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await rasa.close()
        queue.close()

    app.register_listener(start_background, "after_server_start")
    app.register_listener(stop_background, "before_server_stop")

    # -- authentication --------------------------------------------------------------

    def token_of(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip() or None
        return request.cookies.get(COOKIE_NAME) or None

    async def authenticate(request: Request) -> HTTPResponse | None:
        if not request.path.startswith("/api/"):
            return None
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.host:
            return error_response(ApiError(403, "cross_origin", "Cross-site requests are refused."))
        if request.path == "/api/session" and request.method == "POST":
            return None
        token = token_of(request)
        try:
            agent = await blocking(store.session_agent, token) if token else None
        except AccountStoreUnavailable as exc:
            logger.error("%s", exc)
            return error_response(
                ApiError(503, "accounts_unavailable", "The desk's database is unavailable.")
            )
        if agent is None:
            return error_response(ApiError(401, "unauthenticated", "Sign in to use the desk."))
        request.ctx.agent = agent
        request.ctx.actor = Actor(agent.name, agent.role, agent.display_name)
        request.ctx.token = token
        return None

    async def add_security_headers(request: Request, response: HTTPResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)

    app.register_middleware(authenticate, "request")
    app.register_middleware(add_security_headers, "response")

    # -- pages -------------------------------------------------------------------------

    async def index(request: Request) -> HTTPResponse:
        return await file(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    async def health(request: Request) -> HTTPResponse:
        return json_response({"status": "ok"})

    app.add_route(index, "/", methods=["GET"])
    app.add_route(health, "/health", methods=["GET"])
    # Prometheus (frontline/metrics/prometheus.py): the queue and the person's side.
    metrics = registry_for("desk", SqlOutcomeStore(settings.database_url), queue=queue)
    app.add_route(sanic_handler(metrics, settings.metrics_token), "/metrics", methods=["GET"])
    app.static("/static", str(STATIC_DIR), name="static")

    # -- sign-in -------------------------------------------------------------------------

    async def sign_in(request: Request) -> HTTPResponse:
        body = json_body(request)
        name = body.get("name")
        password = body.get("password")
        if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
            raise ApiError(400, "invalid_request", "Give a name and a password.")
        name_key, address_key = name.lower(), request.ip or "unknown"
        if name_throttle.blocked(name_key) or address_throttle.blocked(address_key):
            raise ApiError(429, "too_many_attempts", "Too many failed sign-ins; wait a while.")
        agent = await blocking(store.authenticate, name, password)
        if agent is None:
            name_throttle.failed(name_key)
            address_throttle.failed(address_key)
            raise ApiError(401, "bad_credentials", "Unknown name or wrong password.")
        name_throttle.succeeded(name_key)
        token = await blocking(store.start_session, agent)
        body_out: dict[str, Any] = {"agent": agent.public()}
        if body.get("bearer") is True:
            body_out["token"] = token  # for API clients; browsers get the cookie only
        response = json_response(body_out)
        set_cookie(request, response, token, max_age, secure=settings.desk_secure_cookies)
        return response

    async def sign_out(request: Request) -> HTTPResponse:
        agent, remaining = await blocking(store.end_session, request.ctx.token)
        released: list[str] = []
        if agent is not None and remaining == 0:
            # The agent's last session: give their conversations back at once.
            actor = Actor(agent.name, agent.role)
            for entry in await blocking(queue.held_by, agent.name):
                with contextlib.suppress(NotOwner, AlreadyClaimed, AlreadyResolved):
                    await service.release(actor, entry.entry_id)
                    released.append(entry.entry_id)
        response = json_response({"signed_out": True, "released": released})
        set_cookie(request, response, "", 0, secure=settings.desk_secure_cookies)
        return response

    async def me(request: Request) -> HTTPResponse:
        return json_response(
            {
                "agent": request.ctx.agent.public(),
                "lease_seconds": queue.lease_seconds,
                "heartbeat_seconds": max(min(queue.lease_seconds / 3, 20.0), 0.5),
                "resolution_codes": list(RESOLUTION_CODES),
                "max_reply_length": MAX_REPLY_LENGTH,
            }
        )

    app.add_route(api(sign_in), "/api/session", methods=["POST"])
    app.add_route(api(sign_out), "/api/session", methods=["DELETE"])
    app.add_route(api(me), "/api/me", methods=["GET"])

    # -- the queue ---------------------------------------------------------------------

    async def heartbeat(request: Request) -> HTTPResponse:
        held = await service.heartbeat(request.ctx.actor)
        now = utcnow()
        return json_response({"held": [entry_detail_card(entry, now) for entry in held]})

    async def queue_view(request: Request) -> HTTPResponse:
        return json_response(await service.queue_view(request.ctx.actor))

    async def agents(request: Request) -> HTTPResponse:
        require_supervisor(request)
        listed = await blocking(store.list_agents)
        return json_response({"agents": [agent.public() for agent in listed]})

    app.add_route(api(heartbeat), "/api/heartbeat", methods=["POST"])
    app.add_route(api(queue_view), "/api/queue", methods=["GET"])
    app.add_route(api(agents), "/api/agents", methods=["GET"])

    # -- one conversation ----------------------------------------------------------------

    async def show(request: Request, entry_id: str) -> HTTPResponse:
        return json_response(await service.entry_view(request.ctx.actor, check_id(entry_id)))

    async def claim(request: Request, entry_id: str) -> HTTPResponse:
        entry = await service.claim(request.ctx.actor, check_id(entry_id))
        return entry_response(entry)

    async def release(request: Request, entry_id: str) -> HTTPResponse:
        entry = await service.release(request.ctx.actor, check_id(entry_id))
        return entry_response(entry)

    async def reassign(request: Request, entry_id: str) -> HTTPResponse:
        require_supervisor(request)
        target = json_body(request).get("agent")
        agent = await blocking(store.get_agent, target) if isinstance(target, str) else None
        if agent is None or not agent.active:
            raise ApiError(400, "unknown_agent", "Reassign to an active agent of the desk.")
        entry = await service.reassign(request.ctx.actor, check_id(entry_id), agent.name)
        return entry_response(entry)

    async def reply(request: Request, entry_id: str) -> HTTPResponse:
        event = await service.reply(
            request.ctx.actor, check_id(entry_id), json_body(request).get("text")
        )
        return json_response({"sent": {"text": event["text"], "timestamp": event["timestamp"]}})

    async def finish(request: Request, entry_id: str, *, hand_back: bool) -> HTTPResponse:
        body = json_body(request, required=False)
        code = body.get("resolution_code") or ("handed_back" if hand_back else None)
        if not isinstance(code, str):
            raise ApiError(400, "invalid_request", "Choose a resolution code.")
        entry = await service.resolve(
            request.ctx.actor, check_id(entry_id), code, hand_back=hand_back
        )
        return entry_response(entry)

    async def resolve(request: Request, entry_id: str) -> HTTPResponse:
        return await finish(request, entry_id, hand_back=False)

    async def hand_back(request: Request, entry_id: str) -> HTTPResponse:
        return await finish(request, entry_id, hand_back=True)

    entry_path = "/api/entries/<entry_id:str>"
    app.add_route(api(show), entry_path, methods=["GET"])
    for handler, action in (
        (claim, "claim"),
        (release, "release"),
        (reassign, "reassign"),
        (reply, "reply"),
        (resolve, "resolve"),
        (hand_back, "hand-back"),
    ):
        app.add_route(api(handler), f"{entry_path}/{action}", methods=["POST"], name=action)

    app.error_handler.add(SanicException, _sanic_error)
    app.error_handler.add(Exception, _unexpected_error)
    return app


# -- helpers ---------------------------------------------------------------------------


def api(handler: Handler) -> Handler:
    """Turns project errors raised by a route into JSON error answers."""

    @functools.wraps(handler)
    async def wrapped(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        try:
            return await handler(request, *args, **kwargs)
        except ApiError as exc:
            return error_response(exc)
        except EntryNotFound:
            return error_response(ApiError(404, "not_found", "No such conversation on the queue."))
        except AlreadyClaimed as exc:
            return error_response(
                ApiError(
                    409,
                    "already_claimed",
                    f"{exc.claimed_by} is working on this conversation.",
                    claimed_by=exc.claimed_by,
                )
            )
        except AlreadyResolved as exc:
            return error_response(
                ApiError(
                    409,
                    "already_resolved",
                    "This conversation is resolved already.",
                    resolution_code=exc.resolution_code,
                )
            )
        except NotOwner:
            return error_response(
                ApiError(409, "not_owner", "Claim the conversation first (it is on the queue).")
            )
        except NotAllowed as exc:
            return error_response(ApiError(403, "forbidden", str(exc)))
        except HandBackFailed as exc:
            logger.error("%s", exc)
            return error_response(
                ApiError(
                    502,
                    "hand_back_failed",
                    "Resolved, but the assistant could not take the conversation back; "
                    "try again.",
                    entry=entry_detail_card(exc.entry, utcnow()),
                )
            )
        except BackendError as exc:
            logger.error("Rasa failed: %s", exc)
            return error_response(
                ApiError(502, "rasa_unavailable", "The assistant's server did not answer.")
            )
        except QueueError as exc:
            logger.error("Queue failed: %s", exc)
            return error_response(
                ApiError(503, "queue_unavailable", "The handoff queue is unavailable.")
            )
        except AccountStoreUnavailable as exc:
            logger.error("%s", exc)
            return error_response(
                ApiError(503, "accounts_unavailable", "The desk's database is unavailable.")
            )
        except ValueError as exc:
            return error_response(ApiError(400, "invalid_request", str(exc)))

    return wrapped


def error_response(error: ApiError) -> HTTPResponse:
    return json_response(
        {"error": error.code, "message": error.message, **error.extra}, error.status
    )


def entry_detail_card(entry: QueueEntry, now: Any) -> dict[str, Any]:
    """An entry's state and timings, without its packet."""
    detail = entry_detail(entry, now)
    detail.pop("packet")
    return detail


def entry_response(entry: QueueEntry) -> HTTPResponse:
    return json_response({"entry": entry_detail_card(entry, utcnow())})


def json_body(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises:
        ApiError: 415 unless the body is declared JSON (which cross-site forms cannot
            send), 400 when it is not a JSON object.
    """
    raw = request.body or b""
    if not raw.strip():
        if required:
            raise ApiError(400, "invalid_request", "The request needs a JSON body.")
        return {}
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from exc
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_request", "The request body must be a JSON object.")
    return payload


def check_id(entry_id: str) -> str:
    if not entry_id or len(entry_id) > MAX_ENTRY_ID_LENGTH:
        raise ApiError(404, "not_found", "No such conversation on the queue.")
    return entry_id


def require_supervisor(request: Request) -> None:
    agent: Agent = request.ctx.agent
    if agent.role != "supervisor":
        raise ApiError(403, "forbidden", "Only supervisors can do this.")


def set_cookie(
    request: Request, response: HTTPResponse, token: str, max_age: int, *, secure: bool
) -> None:
    """Sets (or, with ``max_age`` 0, clears) the session cookie.

    It is ``Secure`` over HTTPS, and always with ``secure`` (TLS ended by a proxy).
    """
    response.cookies[COOKIE_NAME] = token
    cookie = response.cookies[COOKIE_NAME]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = max_age
    if secure or request.scheme == "https":
        cookie["secure"] = True


def _sanic_error(request: Request, exception: SanicException) -> HTTPResponse:
    status = getattr(exception, "status_code", 500) or 500
    if status >= 500:
        logger.error("Desk error on %s %s", request.method, request.path, exc_info=exception)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    message = str(exception) if status < 500 else "The desk hit an unexpected error."
    response = error_response(ApiError(status, codes.get(status, "http_error"), message))
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _unexpected_error(request: Request, exception: Exception) -> HTTPResponse:
    logger.error("Desk error on %s %s", request.method, request.path, exc_info=exception)
    response = error_response(ApiError(500, "internal_error", "The desk hit an unexpected error."))
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def check_configuration(settings: Settings) -> None:
    """Fails fast on settings the desk cannot run with.

    Raises:
        ConfigurationError: No Rasa token, or an invalid queue configuration.
    """
    RasaClient(settings.rasa_url, settings.rasa_auth_token, settings.http_timeout)
    create_from_settings(settings).close()
    if settings.desk_session_hours <= 0 or settings.desk_idle_minutes <= 0:
        raise ConfigurationError("DESK_SESSION_HOURS and DESK_IDLE_MINUTES must be positive")

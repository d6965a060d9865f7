"""The conventions of the desk's JSON API: answers, errors, checks of what a request sends.

A route returns :func:`json_response` and raises :class:`ApiError` for any other
answer; registered through :func:`json_api`, the project's errors it lets through
(an entry claimed by someone else, the queue or Rasa down, ...) become JSON error
answers too. Errors Sanic raises itself (404, 405, 413) and unexpected ones get the
same shape (:func:`sanic_error`, :func:`unexpected_error`).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from sanic import Request
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse

from desk.accounts.model import AccountStoreUnavailable, Agent
from desk.security import with_security_headers
from frontline.errors import BackendError, QueueError
from frontline.handoff.desk import HandBackFailed, NotAllowed
from frontline.handoff.desk_views import entry_detail
from frontline.handoff.entry import (
    AlreadyClaimed,
    AlreadyResolved,
    EntryNotFound,
    NotOwner,
    QueueEntry,
    utcnow,
)

logger = logging.getLogger(__name__)

Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]

MAX_ENTRY_ID_LENGTH = 64


@dataclass(eq=False)
class ApiError(Exception):
    """An HTTP error answer: status, a stable code, a message for people, more fields."""

    status: int
    code: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)


def json_response(body: Any, status: int = 200) -> HTTPResponse:
    """A JSON answer that no cache keeps."""
    return HTTPResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def error_response(error: ApiError) -> HTTPResponse:
    """The JSON answer of an :class:`ApiError`: ``{"error", "message", ...}``."""
    return json_response(
        {"error": error.code, "message": error.message, **error.extra}, error.status
    )


def entry_detail_card(entry: QueueEntry, now: Any) -> dict[str, Any]:
    """An entry's state and timings, without its packet."""
    detail = entry_detail(entry, now)
    detail.pop("packet")
    return detail


def entry_response(entry: QueueEntry) -> HTTPResponse:
    """The answer to a change of an entry: ``{"entry": <its state and timings>}``."""
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
    """An entry id from the URL.

    Raises:
        ApiError: 404 for an empty or overlong id.
    """
    if not entry_id or len(entry_id) > MAX_ENTRY_ID_LENGTH:
        raise ApiError(404, "not_found", "No such conversation on the queue.")
    return entry_id


def require_supervisor(request: Request) -> None:
    """Raises a 403 :class:`ApiError` unless a supervisor signed in."""
    agent: Agent = request.ctx.agent
    if agent.role != "supervisor":
        raise ApiError(403, "forbidden", "Only supervisors can do this.")


#: The project's errors a route may let through, answered by :func:`api_error`.
HANDLED_ERRORS = (
    QueueError,
    NotAllowed,
    HandBackFailed,
    BackendError,
    AccountStoreUnavailable,
    ValueError,
)


def json_api(handler: Handler) -> Handler:
    """Turns :class:`ApiError` and the project errors a route raises into JSON answers."""

    @functools.wraps(handler)
    async def wrapped(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        try:
            return await handler(request, *args, **kwargs)
        except ApiError as exc:
            return error_response(exc)
        except HANDLED_ERRORS as exc:
            return error_response(api_error(exc))

    return wrapped


def api_error(exc: Exception) -> ApiError:
    """The answer to one of :data:`HANDLED_ERRORS` (failures of a dependency are logged)."""
    if isinstance(exc, EntryNotFound):
        return ApiError(404, "not_found", "No such conversation on the queue.")
    if isinstance(exc, AlreadyClaimed):
        message = f"{exc.claimed_by} is working on this conversation."
        return ApiError(409, "already_claimed", message, {"claimed_by": exc.claimed_by})
    if isinstance(exc, AlreadyResolved):
        message = "This conversation is resolved already."
        return ApiError(409, "already_resolved", message, {"resolution_code": exc.resolution_code})
    if isinstance(exc, NotOwner):
        return ApiError(409, "not_owner", "Claim the conversation first (it is on the queue).")
    if isinstance(exc, NotAllowed):
        return ApiError(403, "forbidden", str(exc))
    if isinstance(exc, HandBackFailed):
        logger.error("%s", exc)
        return ApiError(
            502,
            "hand_back_failed",
            "Resolved, but the assistant could not take the conversation back; try again.",
            {"entry": entry_detail_card(exc.entry, utcnow())},
        )
    if isinstance(exc, BackendError):
        logger.error("Rasa failed: %s", exc)
        return ApiError(502, "rasa_unavailable", "The assistant's server did not answer.")
    if isinstance(exc, QueueError):
        logger.error("Queue failed: %s", exc)
        return ApiError(503, "queue_unavailable", "The handoff queue is unavailable.")
    if isinstance(exc, AccountStoreUnavailable):
        logger.error("%s", exc)
        return accounts_unavailable()
    return ApiError(400, "invalid_request", str(exc))


def accounts_unavailable() -> ApiError:
    """The answer while the database of agents and sessions cannot be used."""
    return ApiError(503, "accounts_unavailable", "The desk's database is unavailable.")


def sanic_error(request: Request, exception: SanicException) -> HTTPResponse:
    """The JSON answer to an error Sanic raised (no route, wrong method, body too large)."""
    status = getattr(exception, "status_code", 500) or 500
    if status >= 500:
        logger.error("Desk error on %s %s", request.method, request.path, exc_info=exception)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    message = str(exception) if status < 500 else "The desk hit an unexpected error."
    return with_security_headers(
        error_response(ApiError(status, codes.get(status, "http_error"), message))
    )


def unexpected_error(request: Request, exception: Exception) -> HTTPResponse:
    """The JSON answer to an error nothing else handled (logged with its traceback)."""
    logger.error("Desk error on %s %s", request.method, request.path, exc_info=exception)
    return with_security_headers(
        error_response(ApiError(500, "internal_error", "The desk hit an unexpected error."))
    )

"""Small HTTP helpers shared by the route modules."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from sanic import Request
from sanic.response import HTTPResponse

from sandbox.errors import ApiError

T = TypeVar("T")

JSON_CONTENT_TYPE = "application/json"


def dumps(value: Any) -> str:
    """Compact JSON, as every response body is written."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> HTTPResponse:
    """A JSON response."""
    return raw_json_response(dumps(body), status, headers)


def raw_json_response(
    text: str, status: int = 200, headers: dict[str, str] | None = None
) -> HTTPResponse:
    """A response whose body is already-serialised JSON."""
    return HTTPResponse(
        text.encode("utf-8"), status=status, headers=headers, content_type=JSON_CONTENT_TYPE
    )


def error_response(error: ApiError) -> HTTPResponse:
    """The JSON response of an :class:`ApiError`."""
    return json_response(error.body(), error.status)


def parse_json(request: Request) -> Any:
    """The request body as JSON; ``None`` when the body is empty.

    Raises:
        ApiError: 400 ``invalid_json`` when the body is not valid JSON.
    """
    raw = request.body
    if not raw or not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from exc


def json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object (``{}`` for an empty body when not required).

    Raises:
        ApiError: 400 ``invalid_json`` or ``invalid_request``.
    """
    payload = parse_json(request)
    if payload is None and not required:
        return {}
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_request", "The request body must be a JSON object.")
    return payload


def optional_str(
    payload: dict[str, Any], name: str, *, max_length: int = 500, allow_int: bool = False
) -> str | None:
    """A string field that may be absent or null; stripped, with empty meaning absent.

    Args:
        payload: The JSON object.
        name: The field.
        max_length: Longest accepted value.
        allow_int: Also accept a JSON integer (order ids sent as numbers).

    Raises:
        ApiError: 400 ``invalid_request`` when the value has the wrong type or length.
    """
    value = payload.get(name)
    if value is None:
        return None
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if not isinstance(value, str) and not (allow_int and is_int):
        kind = "a string, an integer or null" if allow_int else "a string or null"
        raise ApiError(400, "invalid_request", f"Field {name!r} must be {kind}.")
    text = str(value).strip()
    if len(text) > max_length:
        raise ApiError(400, "invalid_request", f"Field {name!r} is too long.")
    return text or None


async def in_thread(request: Request, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs blocking (database) work on the app's thread pool."""
    loop = asyncio.get_running_loop()
    executor = getattr(request.app.ctx, "executor", None)
    return await loop.run_in_executor(executor, functools.partial(func, *args, **kwargs))


async def read(request: Request, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs ``query(session, *args, **kwargs)`` in a session of its own, on the thread pool.

    For the reads of :mod:`sandbox.store`; writes go through :mod:`sandbox.idempotency`.
    """
    database = request.app.ctx.db

    def work() -> T:
        with database.session_scope() as session:
            return query(session, *args, **kwargs)

    return await in_thread(request, work)

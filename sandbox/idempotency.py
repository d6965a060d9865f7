"""Idempotent writes: a retried request with the same ``Idempotency-Key`` changes nothing.

The first request with a key runs the write and, in the same transaction, stores its
response under the key together with the request's fingerprint (method, path and a
hash of the canonical JSON body). Later requests with that key get the stored status
and body back, with header ``Idempotent-Replayed: true``; a different request with the
same key gets 422 ``idempotency_key_reused``.

Concurrent twins are settled by the database's primary key on the record: the second
insert waits for the first transaction and then fails, after which the stored
response is replayed. Client errors (4xx :class:`~sandbox.errors.ApiError`) are stored
and replayed too; server errors and unexpected failures store nothing, so the client
may retry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sandbox.clock import utcnow
from sandbox.db import Database
from sandbox.errors import ApiError
from sandbox.models import IdempotencyRecord
from sandbox.web import dumps, in_thread, raw_json_response

logger = logging.getLogger(__name__)

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_ATTEMPTS = 3

#: A write: runs inside the idempotency transaction and returns (status, JSON body).
Operation = Callable[[Session], tuple[int, Any]]


@dataclass(frozen=True)
class IdempotentRequest:
    """What identifies a write: its key and the fingerprint of the request."""

    key: str
    method: str
    path: str
    fingerprint: str


@dataclass(frozen=True)
class StoredResponse:
    """The outcome of a write, fresh or replayed."""

    status: int
    body: str
    replayed: bool = False


def fingerprint(method: str, path: str, payload: Any) -> str:
    """SHA-256 of the method, the path and the canonical JSON of the body."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256()
    for part in (method.upper(), path, canonical):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def validate_key(key: str | None) -> str:
    """The key from the header.

    Raises:
        ApiError: 400 ``idempotency_key_required`` when absent, ``invalid_request``
            when it is longer than 255 characters or not visible ASCII.
    """
    if key is None or not key.strip():
        raise ApiError(
            400,
            "idempotency_key_required",
            f"This request changes data: send a unique {KEY_HEADER} header.",
        )
    key = key.strip()
    if len(key) > MAX_KEY_LENGTH or not all(33 <= ord(char) <= 126 for char in key):
        raise ApiError(
            400,
            "invalid_request",
            f"{KEY_HEADER} must be 1-{MAX_KEY_LENGTH} visible ASCII characters.",
        )
    return key


class _KeyTaken(Exception):
    """Another transaction already holds the key."""


class _Rejected(Exception):
    """The operation refused the write with a client error."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


def _new_record(request: IdempotentRequest) -> IdempotencyRecord:
    return IdempotencyRecord(**dataclasses.asdict(request), created_at=utcnow())


def _claim(session: Session, record: IdempotencyRecord) -> None:
    session.add(record)
    try:
        session.flush()  # a concurrent twin blocks here until the holder finishes
    except IntegrityError as exc:
        raise _KeyTaken() from exc


def execute(database: Database, request: IdempotentRequest, operation: Operation) -> StoredResponse:
    """Runs ``operation`` once per key and returns its (possibly replayed) response.

    Blocking: call it from a worker thread.

    Args:
        database: Where the records and the data live (one transaction for both).
        request: The key and fingerprint of the write.
        operation: The write. When it raises :class:`ApiError` its changes are rolled
            back; a client error (4xx) is then stored as the key's outcome.

    Returns:
        The response to send.
    """
    for _ in range(_ATTEMPTS):
        try:
            return _run(database, request, operation)
        except _KeyTaken:
            stored = _stored(database, request)
        except _Rejected as rejected:
            stored = _store_rejection(database, request, rejected.error)
        if stored is not None:
            return stored
        # The holder rolled back (or the data was reset) between our tries: go again.
    raise ApiError(409, "request_in_progress", "A request with this key is still in progress.")


def _run(database: Database, request: IdempotentRequest, operation: Operation) -> StoredResponse:
    with database.session_scope() as session:
        record = _new_record(request)
        _claim(session, record)
        try:
            status, body = operation(session)
        except ApiError as error:
            if error.status >= 500:
                raise  # a server-side failure: store nothing, the client may retry
            raise _Rejected(error) from error  # rolls the claim back; stored separately
        text = dumps(body)
        record.status_code = status
        record.response_body = text
        record.completed_at = utcnow()
    return StoredResponse(status, text)


def _store_rejection(
    database: Database, request: IdempotentRequest, error: ApiError
) -> StoredResponse | None:
    text = dumps(error.body())
    try:
        with database.session_scope() as session:
            record = _new_record(request)
            record.status_code = error.status
            record.response_body = text
            record.completed_at = record.created_at
            _claim(session, record)
    except _KeyTaken:
        return _stored(database, request)
    return StoredResponse(error.status, text)


def _stored(database: Database, request: IdempotentRequest) -> StoredResponse | None:
    """The response stored under the key, checked against the request's fingerprint."""
    with database.session_scope() as session:
        record = session.get(IdempotencyRecord, request.key)
        if record is None:
            return None
        if record.fingerprint != request.fingerprint:
            error = ApiError(
                422,
                "idempotency_key_reused",
                f"This {KEY_HEADER} was already used for a different request.",
            )
            return StoredResponse(error.status, dumps(error.body()))
        if record.status_code is None or record.response_body is None:
            error = ApiError(
                409, "request_in_progress", "A request with this key is still in progress."
            )
            return StoredResponse(error.status, dumps(error.body()))
        logger.debug("replaying the response stored under key %s", request.key)
        return StoredResponse(record.status_code, record.response_body, replayed=True)


async def respond(request: Request, payload: Any, operation: Operation) -> HTTPResponse:
    """Serves a write idempotently (the route's whole handling after parsing the body).

    Args:
        request: The HTTP request; its ``Idempotency-Key`` header is required.
        payload: The parsed JSON body (part of the fingerprint).
        operation: The write, run in a worker thread inside the record's transaction.

    Raises:
        ApiError: 400 when the key is missing or malformed.
    """
    key = validate_key(request.headers.get(KEY_HEADER))
    path = request.path if not request.query_string else f"{request.path}?{request.query_string}"
    idempotent_request = IdempotentRequest(
        key=key,
        method=request.method,
        path=path,
        fingerprint=fingerprint(request.method, path, payload),
    )
    stored = await in_thread(request, execute, request.app.ctx.db, idempotent_request, operation)
    headers = {REPLAYED_HEADER: "true"} if stored.replayed else None
    return raw_json_response(stored.body, stored.status, headers)


async def write(
    request: Request, payload: Any, status: int, change: Callable[..., Any], *args: Any
) -> HTTPResponse:
    """Answers ``status`` with ``change(session, *args, now)``, once per ``Idempotency-Key``.

    For the writes of :mod:`sandbox.store`, which take the current time last.
    """

    def operation(session: Session) -> tuple[int, Any]:
        return status, change(session, *args, utcnow())

    return await respond(request, payload, operation)

"""The idempotency module on its own, against SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from sandbox.clock import utcnow
from sandbox.errors import ApiError
from sandbox.idempotency import IdempotentRequest, execute, fingerprint, validate_key
from sandbox.models import IdempotencyRecord, Order
from sandbox.store import cancel_order


def _request(payload: object = None, path: str = "/orders/482914/cancel") -> IdempotentRequest:
    return IdempotentRequest(
        key=f"unit-{uuid.uuid4()}",
        method="POST",
        path=path,
        fingerprint=fingerprint("POST", path, payload),
    )


def test_fingerprint_is_canonical() -> None:
    assert fingerprint("POST", "/a", {"x": 1, "y": 2}) == fingerprint(
        "post", "/a", {"y": 2, "x": 1}
    )
    assert fingerprint("POST", "/a", {"x": 1}) != fingerprint("POST", "/b", {"x": 1})
    assert fingerprint("POST", "/a", {"x": 1}) != fingerprint("POST", "/a", {"x": 2})
    assert fingerprint("POST", "/a", None) != fingerprint("PUT", "/a", None)


@pytest.mark.parametrize("key", [None, "", "   ", "x" * 256, "has space", "naïve"])
def test_bad_keys_are_refused(key: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        validate_key(key)
    assert caught.value.status == 400


def test_concurrent_twins_run_the_operation_once(database) -> None:
    request, twins = _request(), 8
    calls: list[int] = []
    barrier = threading.Barrier(twins)

    def operation(session):
        calls.append(1)
        return 200, cancel_order(session, "482914", None, utcnow())

    def attempt(_: int):
        barrier.wait(timeout=10)
        return execute(database, request, operation)

    with ThreadPoolExecutor(twins) as pool:
        results = list(pool.map(attempt, range(twins)))

    assert len(calls) == 1
    assert [result.replayed for result in results].count(False) == 1
    assert {result.status for result in results} == {200}
    assert len({result.body for result in results}) == 1
    assert json.loads(results[0].body)["order"]["state"] == "cancelled"


def test_client_errors_are_stored_and_replayed(database) -> None:
    request = _request(path="/orders/482913/cancel")

    def operation(session):
        return 200, cancel_order(session, "482913", None, utcnow())

    first = execute(database, request, operation)
    second = execute(database, request, operation)
    assert first.status == second.status == 409
    assert (first.replayed, second.replayed) == (False, True)
    assert first.body == second.body
    assert json.loads(first.body)["state"] == "shipped"


def test_unexpected_failures_store_nothing(database) -> None:
    request = _request()

    def failing(session):
        session.get(Order, "482914").state = "cancelled"
        raise RuntimeError("backend exploded")

    with pytest.raises(RuntimeError):
        execute(database, request, failing)
    with pytest.raises(ApiError):
        execute(database, request, lambda session: (_ for _ in ()).throw(ApiError(503, "x", "y")))
    with database.session_scope() as session:
        assert session.get(IdempotencyRecord, request.key) is None
        assert session.get(Order, "482914").state == "paid"  # the write was rolled back

    result = execute(database, request, lambda session: (201, {"ok": True}))
    assert (result.status, result.replayed, json.loads(result.body)) == (201, False, {"ok": True})


def test_same_key_other_request_is_refused(database) -> None:
    request = _request({"reason": "a"})
    execute(database, request, lambda session: (200, {"done": 1}))
    other = IdempotentRequest(
        request.key, "POST", request.path, fingerprint("POST", request.path, {"reason": "b"})
    )
    result = execute(database, other, lambda session: (200, {"done": 2}))
    assert result.status == 422
    assert json.loads(result.body)["error"] == "idempotency_key_reused"
    with database.session_scope() as session:
        count = session.execute(sa.select(sa.func.count()).select_from(IdempotencyRecord))
        assert count.scalar_one() == 1

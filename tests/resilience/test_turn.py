"""The per-message failure record: noted only inside a watched message, errors unchanged."""

from __future__ import annotations

import asyncio

import pytest

from frontline.resilience import turn


class Store:
    @turn.notes_failures(turn.TRACKER_STORE)
    async def retrieve(self, ok: bool) -> str:
        if not ok:
            raise ConnectionRefusedError("database down")
        return "tracker"


def test_a_decorated_failure_is_noted_and_raised_unchanged():
    async def message() -> turn.TurnRecord:
        with turn.watching() as record:
            assert await Store().retrieve(True) == "tracker"
            with pytest.raises(ConnectionRefusedError):
                await Store().retrieve(False)
        return record

    record = asyncio.run(message())
    assert record.failures == [
        turn.Failure("tracker_store", "ConnectionRefusedError: database down")
    ]
    assert record.dependencies == ["tracker_store"]


def test_outside_a_message_nothing_is_recorded():
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(Store().retrieve(False))
    turn.note(turn.QUEUE, "nobody listens")  # no message watched: nothing to record in


def test_a_turn_that_raised_names_the_dependency_it_came_from():
    import redis
    import sqlalchemy as sa

    from frontline.channels.turns import failed_dependency

    def chained(cause: BaseException) -> RuntimeError:
        try:
            raise RuntimeError("lock failed") from cause
        except RuntimeError as error:
            return error

    assert failed_dependency(redis.ConnectionError("refused")) == turn.LOCK_STORE
    assert failed_dependency(chained(redis.TimeoutError("slow"))) == turn.LOCK_STORE
    assert failed_dependency(sa.exc.OperationalError("SELECT", {}, None)) == turn.TRACKER_STORE
    assert failed_dependency(SystemExit(1)) == turn.TRACKER_STORE  # Rasa's SQL store exits
    assert failed_dependency(ValueError("?")) == turn.UNKNOWN

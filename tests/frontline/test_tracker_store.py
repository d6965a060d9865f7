"""The non-blocking SQL tracker store keeps Rasa's semantics on SQLite and PostgreSQL.

Each conversation id is unique per test, so tests share the ``events`` table safely.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered

from frontline.stores import NonBlockingSQLTrackerStore
from tests.support.servers import POSTGRES_URL, require_server
from tests.support.topology import fresh_postgres_database

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain"))


class RecordingBroker(EventBroker):
    """Keeps what the tracker store publishes, in order."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


@pytest.fixture
def broker() -> RecordingBroker:
    return RecordingBroker()


@pytest.fixture
def store(sql_url, broker) -> NonBlockingSQLTrackerStore:
    return NonBlockingSQLTrackerStore(domain=DOMAIN, host=sql_url, event_broker=broker)


def user_texts(tracker) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


async def test_saved_events_are_stored_once_and_published_once(store, broker, sql_url, unique_name):
    tracker = await store.get_or_create_tracker(unique_name)
    tracker.update(UserUttered("where is my order?"))
    tracker.update(SlotSet("order_id", "482913"))
    await store.save(tracker)
    await store.save(tracker)  # nothing new: nothing stored or published twice

    # A fresh store (another Rasa instance, nothing parked) reads the same rows back.
    fresh = NonBlockingSQLTrackerStore(domain=DOMAIN, host=sql_url, parked_trackers=0)
    reread = await fresh.retrieve(unique_name)
    assert [e.as_dict()["event"] for e in reread.events] == ["action", "user", "slot"]
    assert reread.get_slot("order_id") == "482913"
    assert [e["event"] for e in broker.published] == ["action", "user", "slot"]
    assert {e["sender_id"] for e in broker.published} == {unique_name}


async def test_the_tracker_just_saved_is_handed_to_the_next_message(store, unique_name):
    tracker = await store.get_or_create_tracker(unique_name)
    tracker.update(UserUttered("hi"))
    await store.save(tracker)

    again = await store.retrieve(unique_name)
    assert again is tracker  # parked: no reload, no replay
    # ...and handed out once: a second reader gets its own copy from the rows.
    other_reader = await store.retrieve(unique_name)
    assert other_reader is not tracker and user_texts(other_reader) == ["hi"]

    again.update(ActionExecuted("utter_greet"))
    await store.save(again)
    events = [e.as_dict()["event"] for e in (await store.retrieve_full_tracker(unique_name)).events]
    assert events == ["action", "user", "action"]


async def test_a_write_by_another_instance_is_never_hidden(sql_url, unique_name):
    first = NonBlockingSQLTrackerStore(domain=DOMAIN, host=sql_url)
    second = NonBlockingSQLTrackerStore(domain=DOMAIN, host=sql_url)
    tracker = await first.get_or_create_tracker(unique_name)
    tracker.update(UserUttered("turn 1"))
    await first.save(tracker)

    elsewhere = await second.retrieve(unique_name)
    elsewhere.update(UserUttered("turn 2"))
    await second.save(elsewhere)

    back = await first.retrieve(unique_name)
    assert back is not tracker
    assert user_texts(back) == ["turn 1", "turn 2"]
    back.update(UserUttered("turn 3"))
    await first.save(back)
    assert user_texts(await second.retrieve(unique_name)) == ["turn 1", "turn 2", "turn 3"]


async def test_a_tracker_changed_without_a_save_is_not_handed_out(store, unique_name):
    tracker = await store.get_or_create_tracker(unique_name)
    tracker.update(UserUttered("kept"))
    await store.save(tracker)
    tracker.update(UserUttered("never saved"))  # e.g. a message whose handling failed

    again = await store.retrieve(unique_name)
    assert again is not tracker and user_texts(again) == ["kept"]


async def test_a_new_session_is_read_back_from_the_rows(store, unique_name):
    tracker = await store.get_or_create_tracker(unique_name)
    tracker.update(UserUttered("old session"))
    await store.save(tracker)
    tracker = await store.retrieve(unique_name)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(UserUttered("new session"))
    await store.save(tracker)

    again = await store.retrieve(unique_name)
    assert again is not tracker
    assert user_texts(again) == ["new session"]  # as Rasa's SQL store would return it


async def test_parking_is_bounded(sql_url, unique_name):
    store = NonBlockingSQLTrackerStore(domain=DOMAIN, host=sql_url, parked_trackers=2)
    trackers = []
    for i in range(3):
        tracker = await store.get_or_create_tracker(f"{unique_name}-{i}")
        tracker.update(UserUttered(f"hello {i}"))
        await store.save(tracker)
        trackers.append(tracker)

    assert await store.retrieve(f"{unique_name}-0") is not trackers[0]  # evicted first
    assert await store.retrieve(f"{unique_name}-2") is trackers[2]


async def test_trackers_only_read_are_not_kept(sql_url, unique_name):
    store = NonBlockingSQLTrackerStore(domain=DOMAIN, host=sql_url, parked_trackers=2)
    for i in range(5):
        tracker = await store.get_or_create_tracker(f"{unique_name}-{i}")
        tracker.update(UserUttered(f"hello {i}"))
        await store.save(tracker)
    for i in range(5):  # e.g. the agent desk reading transcripts: retrieved, never saved
        assert user_texts(await store.retrieve(f"{unique_name}-{i}")) == [f"hello {i}"]

    assert len(store._handed_out) == 2 and len(store._parked) <= 2


async def test_rows_have_the_columns_rasas_own_store_writes(store, sql_url, unique_name):
    import sqlalchemy as sa

    events = [
        UserUttered("where is 482913", {"name": "order_status", "confidence": 0.9}),
        ActionExecuted("action_check_order_status"),
        SlotSet("order_id", "482913"),
    ]
    rasas = SQLTrackerStore(domain=DOMAIN, host=sql_url)
    for sender, target in ((f"{unique_name}-ours", store), (f"{unique_name}-rasa", rasas)):
        tracker = await target.get_or_create_tracker(sender, append_action_listen=False)
        for event in events:
            tracker.update(event)
        await target.save(tracker)

    table = rasas.SQLEvent.__table__
    columns = [c for c in table.c if c.name not in ("id", "sender_id")]

    def rows(sender: str) -> list[tuple]:
        with rasas.session_scope() as session:
            query = sa.select(*columns).where(table.c.sender_id == sender).order_by(table.c.id)
            return [tuple(row) for row in session.execute(query)]

    ours, expected = rows(f"{unique_name}-ours"), rows(f"{unique_name}-rasa")
    assert len(ours) == len(events)
    # The same rows, but the event's data is sealed at rest (and opens to Rasa's JSON).
    data = [c.name for c in columns].index("data")
    assert [row[:data] for row in ours] == [row[:data] for row in expected]
    assert all(row[data].startswith("fernet:") and "482913" not in row[data] for row in ours)
    assert [json.loads(store.cipher.open(row[data])) for row in ours] == [
        json.loads(row[data]) for row in expected
    ]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_tracker_parked_too_long_is_loaded_from_the_rows(sql_url, unique_name):
    clock = FakeClock()
    store = NonBlockingSQLTrackerStore(domain=DOMAIN, host=sql_url, parked_seconds=300, clock=clock)
    quiet, busy = f"{unique_name}-quiet", f"{unique_name}-busy"
    trackers = {}
    for sender in (quiet, busy):
        trackers[sender] = await store.get_or_create_tracker(sender)
        trackers[sender].update(UserUttered("hello"))
        await store.save(trackers[sender])

    clock.now += 200
    resumed = await store.retrieve(busy)  # within 300 s: the parked tracker itself
    assert resumed is trackers[busy]
    resumed.update(UserUttered("still here"))
    await store.save(resumed)

    clock.now += 150  # quiet for 350 s, busy for 150 s
    reloaded = await store.retrieve(quiet)
    assert reloaded is not trackers[quiet]
    assert user_texts(reloaded) == ["hello"]
    reloaded.update(UserUttered("back again"))
    await store.save(reloaded)
    assert await store.retrieve(busy) is trackers[busy]
    await store.save(trackers[busy])

    # A save also lets go of conversations parked too long ago (memory, not only reads).
    clock.now += 400
    later = await store.get_or_create_tracker(f"{unique_name}-later")
    later.update(UserUttered("hi"))
    await store.save(later)
    assert list(store._parked) == [f"{unique_name}-later"]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_sql_url(request, tmp_path):
    """A database without an ``events`` table yet, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with fresh_postgres_database(require_server(POSTGRES_URL, "PostgreSQL"), "events") as url:
        yield url


def _event_indexes(url: str) -> dict[str, list[str]]:
    engine = sa.create_engine(url)
    try:
        return {i["name"]: i["column_names"] for i in sa.inspect(engine).get_indexes("events")}
    finally:
        engine.dispose()


def _plan_of_latest_event_query(store: NonBlockingSQLTrackerStore, sender_id: str) -> str:
    query = f"SELECT max(id) FROM events WHERE sender_id = '{sender_id}'"
    with store.session_scope() as session:
        if store.engine.dialect.name == "postgresql":
            session.execute(sa.text("ANALYZE events"))  # as autovacuum would have by now
            return " ".join(str(row[0]) for row in session.execute(sa.text(f"EXPLAIN {query}")))
        rows = session.execute(sa.text(f"EXPLAIN QUERY PLAN {query}"))
        return " ".join(str(row[-1]) for row in rows)


async def test_the_latest_event_of_a_conversation_is_found_by_an_index(fresh_sql_url):
    # A deployment whose events table Rasa's own store created gets the index too.
    SQLTrackerStore(domain=DOMAIN, host=fresh_sql_url).engine.dispose()
    assert "ix_events_sender_id_id" not in _event_indexes(fresh_sql_url)

    store = NonBlockingSQLTrackerStore(domain=DOMAIN, host=fresh_sql_url)
    again = NonBlockingSQLTrackerStore(domain=DOMAIN, host=fresh_sql_url)  # finds it: no error

    assert _event_indexes(fresh_sql_url)["ix_events_sender_id_id"] == ["sender_id", "id"]
    tracker = await store.get_or_create_tracker("long")
    for turn in range(200):
        tracker.update(UserUttered(f"message {turn}"))
        tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    plan = _plan_of_latest_event_query(store, "long")
    # One step down an index from the newest end, not a read of all 400 rows.
    if store.engine.dialect.name == "postgresql":
        assert "Index Only Scan Backward" in plan or "Index Scan Backward" in plan, plan
    else:
        assert "COVERING INDEX ix_events_sender_id_id" in plan, plan
    assert (await again.retrieve("long")).events[-1] == ActionExecuted("action_listen")
    for each in (store, again):
        each.engine.dispose()


async def test_a_sender_id_the_database_cannot_encode_fails_that_message_not_the_server(store):
    """Rasa's own session scope turns any ValueError into ``sys.exit``: a lone surrogate
    in a sender id (a UnicodeEncodeError) stopped the whole server (issue 16, finding 1)."""
    with pytest.raises(Exception) as raised:
        await store.retrieve("\ud800")
    assert not isinstance(raised.value, SystemExit)


async def test_a_missing_database_schema_is_still_a_configuration_error(store, monkeypatch):
    from frontline.errors import ConfigurationError
    from frontline.stores import tracker_store

    def missing_schema(session):
        raise ValueError("frontline_missing")

    monkeypatch.setattr(tracker_store, "ensure_schema_exists", missing_schema)
    with pytest.raises(ConfigurationError, match="frontline_missing"):
        await store.retrieve("anyone")

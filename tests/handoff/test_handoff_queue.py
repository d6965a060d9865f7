"""The handoff queue's contract, run against every implementation.

Each test runs on SQLite, PostgreSQL and Redis (the ``backend`` fixture of
``tests/handoff/conftest.py``). Leases, delivery and timings: ``test_handoff_leases.py``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from frontline.errors import ConfigurationError, PacketInvalid, QueueError
from frontline.handoff.queue import (
    AlreadyClaimed,
    AlreadyResolved,
    EntryNotFound,
    HandoffQueue,
    QueueEntry,
    RedisStreamHandoffQueue,
    SqlHandoffQueue,
    create,
    create_from_settings,
)
from frontline.settings import Settings
from tests.handoff.support import claim_race, make_packet, must_get

THREADS = 8


def _other(config: dict[str, Any]) -> dict[str, Any]:
    """A second queue on the same server, covered by the same cleanup."""
    key = "stream" if config["type"] == "redis" else "queue_name"
    return {**config, key: f"{config[key]}-other"}


# -- enqueue and read back ----------------------------------------------------------


def test_enqueued_packet_comes_back_intact(queue: HandoffQueue) -> None:
    packet = make_packet()
    before = datetime.now(timezone.utc)

    entry_id = queue.enqueue(packet)

    entry = queue.get(entry_id)
    assert isinstance(entry, QueueEntry)
    assert entry.entry_id == entry_id
    assert entry.packet == packet
    assert entry.status == "pending"
    assert entry.handoff_id == packet["handoff_id"]
    assert entry.conversation_id == "conv-1"
    assert entry.enqueued_at.tzinfo is not None
    assert entry.enqueued_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= entry.enqueued_at <= datetime.now(timezone.utc)
    assert (entry.claimed_by, entry.claimed_at, entry.resolved_at, entry.resolution_code) == (
        None,
        None,
        None,
        None,
    )
    assert queue.pending() == [entry]
    assert queue.find_by_conversation("conv-1") == [entry]


def test_unknown_ids_find_nothing(queue: HandoffQueue) -> None:
    queue.enqueue(make_packet())

    assert queue.get("does-not-exist") is None
    assert queue.get("1-0") is None
    assert queue.find_by_conversation("conv-unknown") == []


def test_find_by_conversation_returns_only_that_conversation(queue: HandoffQueue) -> None:
    first = queue.enqueue(make_packet("a" * 24, "conv-1"))
    queue.enqueue(make_packet("b" * 24, "conv-2"))
    queue.claim(first, "agent-1")
    queue.resolve(first, "agent-1", "resolved")
    second = queue.enqueue(make_packet("c" * 24, "conv-1"))

    found = queue.find_by_conversation("conv-1")

    assert [entry.entry_id for entry in found] == [first, second]
    assert [entry.status for entry in found] == ["resolved", "pending"]


def test_a_conversation_holds_at_most_one_open_handoff(queue: HandoffQueue) -> None:
    first = queue.enqueue(make_packet("a" * 24, "conv-1"))
    # The customer restarts the paused conversation and asks again, twice.
    again = queue.enqueue(make_packet("b" * 24, "conv-1"))
    queue.claim(first, "agent-1")
    while_claimed = queue.enqueue(make_packet("c" * 24, "conv-1"))
    other = queue.enqueue(make_packet("d" * 24, "conv-2"))

    assert again == while_claimed == first and other != first
    assert [entry.entry_id for entry in queue.find_by_conversation("conv-1")] == [first]
    queue.resolve(first, "agent-1", "resolved")
    later = queue.enqueue(make_packet("e" * 24, "conv-1"))  # a new handoff once it is closed
    assert later != first
    assert [e.status for e in queue.find_by_conversation("conv-1")] == ["resolved", "pending"]


def test_duplicate_handoff_id_is_enqueued_once(queue: HandoffQueue) -> None:
    first = queue.enqueue(make_packet(summary="first"))
    again = queue.enqueue(make_packet(summary="retried"))

    assert again == first
    assert [entry.entry_id for entry in queue.pending()] == [first]
    assert must_get(queue, first).packet["summary"] == "first"
    assert len(queue.find_by_conversation("conv-1")) == 1


def test_duplicate_handoff_id_is_enqueued_once_under_concurrency(queue: HandoffQueue) -> None:
    barrier = threading.Barrier(THREADS)

    def enqueue(_: int) -> str:
        barrier.wait()
        return queue.enqueue(make_packet())

    with ThreadPoolExecutor(THREADS) as pool:
        entry_ids = set(pool.map(enqueue, range(THREADS)))

    assert len(entry_ids) == 1
    assert [entry.entry_id for entry in queue.pending()] == list(entry_ids)


def test_pending_is_oldest_first_and_limited(queue: HandoffQueue) -> None:
    entry_ids = [queue.enqueue(make_packet(f"{i:024x}", f"conv-{i}")) for i in range(12)]

    assert [entry.entry_id for entry in queue.pending()] == entry_ids
    for limit in (1, 5, 11, 12, 50):
        assert [entry.entry_id for entry in queue.pending(limit=limit)] == entry_ids[:limit]
    with pytest.raises(ValueError):
        queue.pending(limit=0)


def test_queues_with_other_names_are_separate(backend: dict[str, Any]) -> None:
    with create(backend) as mine, create(_other(backend)) as theirs:
        entry_id = mine.enqueue(make_packet(summary="mine"))
        their_id = theirs.enqueue(make_packet(summary="theirs"))  # same handoff id
        mine.claim(entry_id, "agent-1")

        assert [entry.packet["summary"] for entry in theirs.pending()] == ["theirs"]
        assert [entry.entry_id for entry in theirs.find_by_conversation("conv-1")] == [their_id]
        assert must_get(theirs, their_id).status == "pending"
        assert [entry.packet["summary"] for entry in mine.find_by_conversation("conv-1")] == [
            "mine"
        ]
        assert mine.pending() == []


@pytest.mark.parametrize(
    "packet",
    [
        {"conversation_id": "conv-1"},
        {"handoff_id": "", "conversation_id": "conv-1"},
        {"handoff_id": "h" * 24},
        {"handoff_id": 42, "conversation_id": "conv-1"},
        {"handoff_id": "x" * 65, "conversation_id": "conv-1"},
        {"handoff_id": "h" * 24, "conversation_id": "conv-1", "when": datetime.now()},
        {"handoff_id": "h" * 24, "conversation_id": "conv-1", "score": float("nan")},
    ],
    ids=["no-handoff-id", "empty", "no-conversation", "int", "too-long", "datetime", "nan"],
)
def test_unusable_packets_are_rejected(queue: HandoffQueue, packet: dict) -> None:
    with pytest.raises(PacketInvalid):
        queue.enqueue(packet)
    assert queue.pending() == []


# -- claim and resolve --------------------------------------------------------------


def test_claim_takes_the_entry_off_pending(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())
    other_id = queue.enqueue(make_packet("o" * 24, "conv-2"))

    claimed = queue.claim(entry_id, "agent-1")

    assert claimed.status == "claimed"
    assert claimed.claimed_by == "agent-1"
    assert claimed.claimed_at is not None and claimed.claimed_at >= claimed.enqueued_at
    assert claimed.packet == make_packet()
    assert queue.get(entry_id) == claimed
    assert [entry.entry_id for entry in queue.pending()] == [other_id]


def test_claiming_again_by_the_owner_changes_nothing(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())
    claimed = queue.claim(entry_id, "agent-1")

    assert queue.claim(entry_id, "agent-1") == claimed


def test_claim_by_another_agent_raises(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())
    queue.claim(entry_id, "agent-1")

    with pytest.raises(AlreadyClaimed) as raised:
        queue.claim(entry_id, "agent-2")

    assert isinstance(raised.value, QueueError)
    assert raised.value.claimed_by == "agent-1"
    assert must_get(queue, entry_id).claimed_by == "agent-1"


def test_concurrent_claims_have_exactly_one_winner(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())
    outcomes = claim_race(queue, entry_id, [f"agent-{agent}" for agent in range(THREADS)])

    winners = [agent for agent in outcomes if agent is not None]
    assert len(winners) == 1
    assert outcomes.count(None) == THREADS - 1
    assert must_get(queue, entry_id).claimed_by == winners[0]


def test_claim_of_unknown_entry_raises(queue: HandoffQueue) -> None:
    with pytest.raises(EntryNotFound):
        queue.claim("does-not-exist", "agent-1")
    with pytest.raises(EntryNotFound):
        queue.claim("1-0", "agent-1")
    with pytest.raises(EntryNotFound):
        queue.resolve("1-0", "agent-1", "solved")


def test_claim_needs_an_agent(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())

    with pytest.raises(ValueError):
        queue.claim(entry_id, " ")
    assert must_get(queue, entry_id).status == "pending"


def test_resolve_records_code_and_time(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())
    claimed = queue.claim(entry_id, "agent-1")

    resolved = queue.resolve(entry_id, "agent-1", "refund_issued")

    assert resolved.status == "resolved"
    assert resolved.resolution_code == "refund_issued"
    assert resolved.claimed_by == "agent-1"
    assert resolved.claimed_at == claimed.claimed_at
    assert resolved.resolved_at is not None and claimed.claimed_at is not None
    assert resolved.resolved_at.utcoffset() == timedelta(0)
    assert claimed.claimed_at <= resolved.resolved_at <= datetime.now(timezone.utc)
    assert queue.get(entry_id) == resolved
    assert queue.pending() == []
    # A retried request is harmless.
    assert queue.resolve(entry_id, "agent-1", "refund_issued") == resolved


def test_resolving_a_pending_entry_claims_it_too(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())

    resolved = queue.resolve(entry_id, "agent-1", "duplicate")

    assert (resolved.status, resolved.claimed_by) == ("resolved", "agent-1")
    assert resolved.claimed_at is not None
    assert queue.pending() == []


def test_resolve_of_an_entry_owned_by_another_agent_raises(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())
    queue.claim(entry_id, "agent-1")

    with pytest.raises(AlreadyClaimed):
        queue.resolve(entry_id, "agent-2", "solved")

    assert must_get(queue, entry_id).status == "claimed"


def test_a_resolved_entry_cannot_change(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())
    resolved = queue.resolve(entry_id, "agent-1", "solved")

    with pytest.raises(AlreadyResolved):
        queue.claim(entry_id, "agent-2")
    with pytest.raises(AlreadyResolved):
        queue.resolve(entry_id, "agent-1", "another_code")
    with pytest.raises(AlreadyResolved):
        queue.resolve(entry_id, "agent-2", "solved")
    assert queue.get(entry_id) == resolved


def test_a_closed_queue_refuses_work(backend: dict[str, Any]) -> None:
    queue = create(backend)
    queue.close()

    with pytest.raises(QueueError):
        queue.enqueue(make_packet())


# -- factory ------------------------------------------------------------------------


def test_factory_builds_each_type(backend: dict[str, Any]) -> None:
    expected = RedisStreamHandoffQueue if backend["type"] == "redis" else SqlHandoffQueue
    with create(backend) as queue:
        assert isinstance(queue, expected)
        assert queue.pending() == []


@pytest.mark.parametrize(
    "config",
    [
        {"type": "kafka", "url": "kafka://localhost"},
        {"url": "sqlite://"},
        {"type": "sql"},
        {"type": "redis", "url": ""},
        {"type": "redis", "url": "http://127.0.0.1:6379"},
        {"type": "sql", "url": "not a url"},
        {"type": "redis", "url": "redis://127.0.0.1:6379/0", "timeout": "soon"},
        {"type": "sql", "url": "sqlite://", "lease_seconds": "a while"},
        {"type": "redis", "url": "redis://127.0.0.1:6379/0", "lease_seconds": 0},
        {"type": "sql", "url": "sqlite://", "lease_seconds": -5},
    ],
    ids=[
        "unknown-type",
        "no-type",
        "no-url",
        "empty-url",
        "bad-scheme",
        "bad-sql-url",
        "timeout",
        "lease-text",
        "lease-zero",
        "lease-negative",
    ],
)
def test_factory_rejects_bad_config(config: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        create(config)


def test_factory_from_settings(sqlite_url: str, unique_name: str) -> None:
    sql = create_from_settings(
        Settings(handoff_queue="sql", database_url=sqlite_url, handoff_lease_seconds=45)
    )
    redis_queue = create_from_settings(
        Settings(
            handoff_queue="redis",
            redis_url="redis://127.0.0.1:6379/15",
            redis_stream=f"test:handoff:{unique_name}",
            handoff_lease_seconds=20,
        )
    )
    try:
        assert isinstance(sql, SqlHandoffQueue)
        assert isinstance(redis_queue, RedisStreamHandoffQueue)
        assert redis_queue.stream == f"test:handoff:{unique_name}"
        assert (sql.lease_seconds, redis_queue.lease_seconds) == (45, 20)
    finally:
        sql.close()
        redis_queue.close()  # never connected: nothing to clean up
    with pytest.raises(ConfigurationError):
        create_from_settings(Settings(handoff_queue="redis", redis_url=None))
    with pytest.raises(ConfigurationError):
        create_from_settings(Settings(handoff_queue="carrier-pigeon"))


# -- unreachable servers ------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"type": "redis", "url": "redis://127.0.0.1:1/0"},
        {"type": "sql", "url": "postgresql://postgres@127.0.0.1:1/test"},
    ],
    ids=["redis", "postgresql"],
)
def test_dead_server_raises_queue_error_promptly(config: dict[str, Any]) -> None:
    queue = create(config)
    started = time.monotonic()

    for operation in (
        lambda: queue.enqueue(make_packet()),
        queue.pending,
        lambda: queue.get("1-0"),
        lambda: queue.claim("1-0", "agent-1"),
    ):
        with pytest.raises(QueueError) as raised:
            operation()
        assert raised.value.__cause__ is not None

    assert time.monotonic() - started < 5
    queue.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers (a hung server)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.mark.parametrize("kind", ["redis", "postgresql"])
def test_hung_server_times_out_into_queue_error(kind: str, silent_port: int) -> None:
    if kind == "redis":
        config = {"type": "redis", "url": f"redis://127.0.0.1:{silent_port}/0", "timeout": 0.5}
    else:
        # libpq's connect_timeout (whole seconds) travels in the URL.
        url = f"postgresql://postgres@127.0.0.1:{silent_port}/test?connect_timeout=1"
        config = {"type": "sql", "url": url}
    queue = create(config)
    started = time.monotonic()

    with pytest.raises(QueueError):
        queue.pending()

    assert time.monotonic() - started < 5
    queue.close()


@pytest.mark.parametrize("url", ["nosuchdb://host/db", "mysql://user@127.0.0.1:1/db"])
def test_unusable_database_driver_is_a_configuration_error(url: str) -> None:
    queue = create({"type": "sql", "url": url})  # nothing is loaded before first use

    with pytest.raises(ConfigurationError):
        queue.pending()

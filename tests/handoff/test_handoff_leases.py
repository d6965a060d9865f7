"""Queue semantics human agents rely on, on SQLite, PostgreSQL and Redis Streams.

* at-least-once delivery: an entry stays offered until someone resolves it;
* an entry whose owner's session died (no lease renewal) is re-offered;
* never lost: every open entry is pending or owned, whatever happens to its agents;
* never two owners, including concurrent claims and take-overs;
* priority, then waiting time; waiting and handling times recorded.

Lease expiry uses short leases and bounded polling on real servers (the Redis lease
clock is the server's), plus a fake clock on SQL for exact timings.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from frontline.db import get_engine
from frontline.handoff.queue import (
    AlreadyClaimed,
    AlreadyResolved,
    EntryNotFound,
    HandoffQueue,
    NotOwner,
    QueueEntry,
    SqlHandoffQueue,
    create,
)
from frontline.handoff.redis_queue import AGENT_CONSUMER_PREFIX, CONSUMER_GROUP, POOL_CONSUMER
from tests.handoff.support import claim_race, make_packet, must_get, wait_until

THREADS = 8
SHORT_LEASE = 0.3


@pytest.fixture
def short(backend: dict[str, Any]) -> Iterator[HandoffQueue]:
    """A queue whose claims lapse after 0.3 s without renewal."""
    with create({**backend, "lease_seconds": SHORT_LEASE}) as q:
        yield q


def _ids(entries: list[QueueEntry]) -> list[str]:
    return [entry.entry_id for entry in entries]


def _enqueue(queue: HandoffQueue, n: int, priority: str = "normal") -> list[str]:
    return [
        queue.enqueue(
            make_packet(f"{priority[:1]}{i:023x}", f"conv-{priority}-{i}", priority=priority)
        )
        for i in range(n)
    ]


def _lapsed(queue: HandoffQueue, entry_id: str) -> bool:
    """Whether the entry's lease has run out (by this machine's clock, which the
    local Redis server shares)."""
    entry = must_get(queue, entry_id)
    assert entry.lease_expires_at is not None
    return entry.lease_expires_at < datetime.now(timezone.utc) - timedelta(milliseconds=20)


# -- ordering -----------------------------------------------------------------------


def test_the_queue_lists_by_priority_then_waiting_time(queue: HandoffQueue) -> None:
    order = ["low", "urgent", "normal", "high", "urgent", "normal", "low", "high"]
    ids = [
        queue.enqueue(make_packet(f"{i:024x}", f"conv-{i}", priority=priority))
        for i, priority in enumerate(order)
    ]
    no_priority = make_packet(f"{99:024x}", "conv-99")
    del no_priority["priority"]
    unprioritised = queue.enqueue(no_priority)
    by_priority = [ids[1], ids[4], ids[3], ids[7], ids[2], ids[5], unprioritised, ids[0], ids[6]]

    assert _ids(queue.pending()) == by_priority
    assert [entry.priority for entry in queue.pending(limit=3)] == ["urgent", "urgent", "high"]
    assert must_get(queue, unprioritised).priority == "normal"

    queue.claim(ids[4], "agent-1")
    queue.claim(ids[2], "agent-2")
    assert _ids(queue.pending()) == [i for i in by_priority if i not in (ids[4], ids[2])]
    assert _ids(queue.open_entries()) == by_priority
    assert _ids(queue.open_entries(limit=4)) == by_priority[:4]
    queue.resolve(ids[4], "agent-1", "solved")
    assert _ids(queue.open_entries()) == [i for i in by_priority if i != ids[4]]


def test_many_entries_of_one_priority_keep_their_order(queue: HandoffQueue) -> None:
    ids = _enqueue(queue, 15, "high")
    for limit in (1, 7, 14, 15, 40):
        assert _ids(queue.pending(limit=limit)) == ids[:limit]
        assert _ids(queue.open_entries(limit=limit)) == ids[:limit]


# -- leases -------------------------------------------------------------------------


def test_a_claim_holds_a_lease_and_records_the_first_claim(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())

    claimed = queue.claim(entry_id, "agent-1")

    assert claimed.claimed_at is not None and claimed.lease_expires_at is not None
    lease = (claimed.lease_expires_at - claimed.claimed_at).total_seconds()
    assert lease == pytest.approx(queue.lease_seconds, abs=0.01)
    assert claimed.first_claimed_at == claimed.claimed_at
    assert (claimed.claims, claimed.reoffers) == (1, 0)
    assert claimed.waiting_seconds is not None and 0 <= claimed.waiting_seconds < 5
    assert claimed.handling_seconds is None
    assert not claimed.lease_expired()
    assert queue.held_by("agent-1") == [claimed]
    assert queue.held_by("agent-2") == []


def test_a_running_lease_is_not_reoffered_and_keeps_others_out(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())
    queue.claim(entry_id, "agent-1")

    assert queue.deliver().reoffered == ()
    with pytest.raises(AlreadyClaimed):
        queue.claim(entry_id, "agent-2")
    assert must_get(queue, entry_id).claimed_by == "agent-1"


def test_renew_extends_the_leases_of_the_agents_entries_only(queue: HandoffQueue) -> None:
    mine = [queue.claim(i, "agent-1") for i in _enqueue(queue, 2)]
    theirs = queue.claim(queue.enqueue(make_packet("t" * 24, "conv-t")), "agent-2")

    renewed = queue.renew("agent-1")

    assert _ids(renewed) == _ids(mine)
    for before, after in zip(mine, renewed, strict=True):
        assert before.lease_expires_at is not None and after.lease_expires_at is not None
        assert after.lease_expires_at >= before.lease_expires_at
        assert after.claimed_at == before.claimed_at  # a renewal is not a new claim
    assert must_get(queue, theirs.entry_id) == theirs
    assert queue.renew("agent-3") == []


def test_an_entry_whose_owner_went_silent_is_reoffered(short: HandoffQueue) -> None:
    entry_id = short.enqueue(make_packet())
    first = short.claim(entry_id, "agent-1")

    # agent-1's session died: nothing renews the lease. The desk re-offers the entry.
    wait_until(lambda: entry_id in short.deliver().reoffered)
    entry = must_get(short, entry_id)
    assert (entry.status, entry.claimed_by, entry.lease_expires_at) == ("pending", None, None)
    assert entry.reoffers == 1
    assert entry.first_claimed_at == first.first_claimed_at  # the customer's wait is kept
    assert _ids(short.pending()) == [entry_id]
    assert short.renew("agent-1") == []  # agent-1 has lost it

    taken = short.claim(entry_id, "agent-2")
    assert (taken.claimed_by, taken.claims, taken.first_claimed_at) == (
        "agent-2",
        2,
        first.first_claimed_at,
    )
    with pytest.raises(AlreadyClaimed):
        short.resolve(entry_id, "agent-1", "solved")
    with pytest.raises(AlreadyClaimed):
        short.release(entry_id, "agent-1")
    assert short.resolve(entry_id, "agent-2", "solved").claimed_by == "agent-2"


def test_a_lapsed_lease_can_be_taken_over_by_exactly_one_agent(short: HandoffQueue) -> None:
    entry_id = short.enqueue(make_packet())
    short.claim(entry_id, "agent-0")
    wait_until(lambda: _lapsed(short, entry_id))
    outcomes = claim_race(short, entry_id, [f"agent-{agent + 1}" for agent in range(THREADS)])

    winners = [agent for agent in outcomes if agent is not None]
    assert len(winners) == 1
    entry = must_get(short, entry_id)
    assert entry.claimed_by == winners[0]
    assert (entry.claims, entry.reoffers) == (2, 1)
    assert short.held_by("agent-0") == []
    assert _ids(short.held_by(winners[0])) == [entry_id]


def test_a_renewed_lease_is_kept_past_its_first_term(backend: dict[str, Any]) -> None:
    lease = 0.6
    with create({**backend, "lease_seconds": lease}) as queue:
        entry_id = queue.enqueue(make_packet())
        first = queue.claim(entry_id, "agent-1")
        assert first.lease_expires_at is not None

        # The desk's heartbeat renews the lease until the first one would have run out
        # twice over; the entry is never re-offered meanwhile.
        def heartbeat_past_first_term() -> bool:
            assert _ids(queue.renew("agent-1")) == [entry_id]
            assert queue.deliver().reoffered == ()
            deadline = first.lease_expires_at + timedelta(seconds=lease)  # type: ignore[operator]
            return datetime.now(timezone.utc) > deadline

        wait_until(heartbeat_past_first_term, every=lease / 6)
        with pytest.raises(AlreadyClaimed):
            queue.claim(entry_id, "agent-2")
        assert must_get(queue, entry_id).claims == 1


def test_concurrent_claims_on_many_entries_give_each_one_owner(queue: HandoffQueue) -> None:
    ids = _enqueue(queue, 6)
    barrier = threading.Barrier(THREADS)

    def claim_all(agent: int) -> list[str]:
        order = ids[:]
        random.Random(agent).shuffle(order)
        won = []
        barrier.wait()
        for entry_id in order:
            try:
                queue.claim(entry_id, f"agent-{agent}")
                won.append(entry_id)
            except AlreadyClaimed:
                pass
            queue.deliver()
        return won

    with ThreadPoolExecutor(THREADS) as pool:
        wins = list(pool.map(claim_all, range(THREADS)))

    assert sorted(i for won in wins for i in won) == sorted(ids)  # each exactly once
    for agent, won in enumerate(wins):
        assert sorted(_ids(queue.held_by(f"agent-{agent}"))) == sorted(won)


# -- release and reassign -----------------------------------------------------------


def test_release_gives_the_entry_back(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())
    queue.claim(entry_id, "agent-1")
    with pytest.raises(AlreadyClaimed):
        queue.release(entry_id, "agent-2")

    released = queue.release(entry_id, "agent-1")

    assert (released.status, released.claimed_by, released.reoffers) == ("pending", None, 1)
    assert _ids(queue.pending()) == [entry_id]
    with pytest.raises(NotOwner):
        queue.release(entry_id, "agent-1")
    assert queue.claim(entry_id, "agent-2").claimed_by == "agent-2"
    queue.resolve(entry_id, "agent-2", "solved")
    with pytest.raises(AlreadyResolved):
        queue.release(entry_id, "agent-2")
    with pytest.raises(EntryNotFound):
        queue.release("1-0", "agent-2")


def test_a_supervisor_reassigns_an_open_entry(queue: HandoffQueue) -> None:
    claimed_id, pending_id = _enqueue(queue, 2)
    first = queue.claim(claimed_id, "agent-1")

    moved = queue.reassign(claimed_id, "agent-2")

    assert (moved.status, moved.claimed_by, moved.claims) == ("claimed", "agent-2", 2)
    assert moved.first_claimed_at == first.first_claimed_at
    assert queue.held_by("agent-1") == [] and queue.renew("agent-1") == []
    assert _ids(queue.held_by("agent-2")) == [claimed_id]
    with pytest.raises(AlreadyClaimed):
        queue.resolve(claimed_id, "agent-1", "solved")
    assert queue.reassign(claimed_id, "agent-2") == moved  # already theirs

    assigned = queue.reassign(pending_id, "agent-3")
    assert (assigned.status, assigned.claimed_by) == ("claimed", "agent-3")
    assert queue.pending() == []

    queue.resolve(claimed_id, "agent-2", "solved")
    with pytest.raises(AlreadyResolved):
        queue.reassign(claimed_id, "agent-3")
    with pytest.raises(EntryNotFound):
        queue.reassign("1-0", "agent-3")


# -- never lost, at least once ------------------------------------------------------


def test_no_entry_is_lost_whatever_happens_to_its_agents(short: HandoffQueue) -> None:
    ids = _enqueue(short, 10)
    rng = random.Random(4)
    resolved: set[str] = set()
    silent: set[str] = set()
    for entry_id in ids:
        agent = f"agent-{rng.randint(1, 3)}"
        fate = rng.choice(["left pending", "resolved", "released", "owner died"])
        if fate == "left pending":
            continue
        short.claim(entry_id, agent)
        if fate == "resolved":
            short.resolve(entry_id, agent, "solved")
            resolved.add(entry_id)
        elif fate == "released":
            short.release(entry_id, agent)
        else:
            silent.add(entry_id)
    assert resolved and silent

    # Every open entry is offered again once the silent owners' leases have run out.
    reoffered: set[str] = set()

    def all_silent_reoffered() -> bool:
        reoffered.update(short.deliver().reoffered)
        return reoffered >= silent

    wait_until(all_silent_reoffered)
    assert reoffered == silent
    open_ids = [i for i in ids if i not in resolved]
    assert sorted(_ids(short.pending())) == sorted(open_ids)
    assert sorted(_ids(short.open_entries())) == sorted(open_ids)

    # A live agent works through the queue; nothing resolved ever comes back.
    for entry_id in open_ids:
        short.claim(entry_id, "agent-9")
        short.resolve(entry_id, "agent-9", "solved")
    assert short.deliver().reoffered == ()
    assert short.pending() == [] and short.open_entries() == []
    assert all(must_get(short, i).status == "resolved" for i in ids)


# -- timings ------------------------------------------------------------------------


def test_waiting_and_handling_times_are_recorded(queue: HandoffQueue) -> None:
    entry_id = queue.enqueue(make_packet())
    pending = must_get(queue, entry_id)
    assert pending.waiting_seconds is None and pending.handling_seconds is None
    assert pending.waited_so_far(pending.enqueued_at + timedelta(seconds=42)) == 42

    claimed = queue.claim(entry_id, "agent-1")
    resolved = queue.resolve(entry_id, "agent-1", "solved")

    assert resolved.first_claimed_at == claimed.first_claimed_at is not None
    assert resolved.resolved_at is not None
    assert (
        resolved.waiting_seconds
        == (claimed.first_claimed_at - resolved.enqueued_at).total_seconds()
    )
    assert (
        resolved.handling_seconds
        == (resolved.resolved_at - claimed.first_claimed_at).total_seconds()
    )
    assert resolved.waiting_seconds >= 0 and resolved.handling_seconds >= 0
    assert resolved.lease_expires_at is None


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_sql_timings_and_lease_expiry_on_a_fake_clock(sql_url: str, unique_name: str) -> None:
    clock = FakeClock()
    queue = SqlHandoffQueue(sql_url, unique_name, lease_seconds=60, clock=clock)
    try:
        entry_id = queue.enqueue(make_packet())
        clock.advance(30)
        queue.claim(entry_id, "agent-1")
        clock.advance(59)
        assert queue.deliver().reoffered == ()
        queue.renew("agent-1")  # heartbeat at 59 s: the lease now ends at 119 s
        clock.advance(59)
        assert queue.deliver().reoffered == ()
        clock.advance(2)  # silent for 61 s
        assert queue.deliver().reoffered == (entry_id,)
        clock.advance(100)
        taken = queue.claim(entry_id, "agent-2")
        clock.advance(240)
        resolved = queue.resolve(entry_id, "agent-2", "refund_issued")

        assert resolved.waiting_seconds == 30  # enqueued to first claim
        assert resolved.handling_seconds == 59 + 59 + 2 + 100 + 240  # first claim to resolution
        assert taken.claimed_at == clock.now - timedelta(seconds=240)
        assert (resolved.claims, resolved.reoffers) == (2, 1)
    finally:
        queue.close()
        if sql_url.startswith("postgresql"):
            from tests.handoff.conftest import cleanup

            cleanup({"type": "sql", "url": sql_url, "queue_name": unique_name})


# -- Redis Streams: the consumer group ----------------------------------------------


def _owners(config: dict[str, Any]) -> dict[str, str]:
    """Entry id -> consumer holding it in the group's pending entries list."""
    client = redis.Redis.from_url(config["url"], decode_responses=True)
    try:
        page = client.xpending_range(config["stream"], CONSUMER_GROUP, "-", "+", 1000)
        return {item["message_id"]: item["consumer"] for item in page}
    finally:
        client.close()
        client.connection_pool.disconnect()


@pytest.fixture
def redis_backend(redis_url: str, unique_name: str) -> Iterator[dict[str, Any]]:
    from tests.handoff.conftest import cleanup

    config = {"type": "redis", "url": redis_url, "stream": f"test:handoff:{unique_name}"}
    yield config
    cleanup(config)


def test_redis_delivery_claims_and_acks_follow_the_entry(redis_backend: dict[str, Any]) -> None:
    with create({**redis_backend, "lease_seconds": SHORT_LEASE}) as queue:
        first, second, third = _enqueue(queue, 3)
        assert _owners(redis_backend) == {}  # not read by the group yet

        delivery = queue.deliver()  # XREADGROUP into the desk pool
        assert delivery.delivered == (first, second, third)
        assert _owners(redis_backend) == dict.fromkeys((first, second, third), POOL_CONSUMER)
        assert queue.deliver().delivered == ()  # delivered once

        queue.claim(first, "ana")  # XCLAIM to the agent
        assert _owners(redis_backend)[first] == f"{AGENT_CONSUMER_PREFIX}ana"
        queue.resolve(second, "ana", "duplicate")  # XACK: gone from the group
        assert second not in _owners(redis_backend)

        # ana's session dies; XAUTOCLAIM takes the entry back into the pool.
        wait_until(lambda: first in queue.deliver().reoffered)
        assert _owners(redis_backend) == {first: POOL_CONSUMER, third: POOL_CONSUMER}

        queue.reassign(third, "ben")
        queue.resolve(third, "ben", "solved")
        queue.claim(first, "ben")
        queue.resolve(first, "ben", "solved")
        assert _owners(redis_backend) == {}


def test_redis_entries_claimed_before_any_delivery_join_the_group(
    redis_backend: dict[str, Any],
) -> None:
    with create(redis_backend) as queue:
        first, second = _enqueue(queue, 2)

        queue.claim(second, "ana")  # no desk has read the stream yet

        assert _owners(redis_backend) == {
            first: POOL_CONSUMER,
            second: f"{AGENT_CONSUMER_PREFIX}ana",
        }
        assert queue.deliver().delivered == ()
        assert _ids(queue.held_by("ana")) == [second]


def test_redis_entries_read_by_a_desk_that_died_are_still_offered(
    redis_backend: dict[str, Any],
) -> None:
    with create(redis_backend) as dead_desk:
        ids = _enqueue(dead_desk, 3)
        dead_desk.deliver()
    # Every desk process delivers to the one shared pool consumer, so what a desk
    # read before it died is held by the pool, not by a consumer nobody serves.
    assert _owners(redis_backend) == dict.fromkeys(ids, POOL_CONSUMER)
    with create(redis_backend) as live_desk:
        assert _ids(live_desk.pending()) == ids
        assert live_desk.deliver().delivered == ()
        for entry_id in ids:
            assert live_desk.claim(entry_id, "ana").claimed_by == "ana"
        assert set(_owners(redis_backend).values()) == {f"{AGENT_CONSUMER_PREFIX}ana"}


# -- SQL: tables of the first version -----------------------------------------------


def test_a_table_of_the_first_version_is_upgraded(sqlite_url: str) -> None:
    engine = get_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS handoff_queue_entries"))
        connection.execute(
            sa.text(
                "CREATE TABLE handoff_queue_entries (id INTEGER PRIMARY KEY, "
                "entry_id VARCHAR(32) NOT NULL UNIQUE, queue_name VARCHAR(100) NOT NULL, "
                "handoff_id VARCHAR(64) NOT NULL, conversation_id VARCHAR(255) NOT NULL, "
                "status VARCHAR(16) NOT NULL, packet TEXT NOT NULL, enqueued_at DATETIME "
                "NOT NULL, claimed_by VARCHAR(255), claimed_at DATETIME, resolved_at "
                "DATETIME, resolution_code VARCHAR(64))"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO handoff_queue_entries (entry_id, queue_name, handoff_id, "
                "conversation_id, status, packet, enqueued_at, claimed_by, claimed_at) "
                "VALUES ('old', 'default', :h, 'conv-1', 'claimed', :p, "
                "'2026-01-01 10:00:00', 'agent-1', '2026-01-01 10:05:00')"
            ),
            {"h": "h" * 24, "p": '{"handoff_id": "hhh", "conversation_id": "conv-1"}'},
        )
    queue = SqlHandoffQueue(sqlite_url)

    old = must_get(queue, "old")
    assert (old.status, old.priority, old.claims, old.reoffers) == ("claimed", "normal", 0, 0)
    # A claim from before leases has none: it is re-offered rather than stuck forever.
    assert queue.deliver().reoffered == ("old",)
    assert queue.claim("old", "agent-2").claimed_by == "agent-2"
    new_id = queue.enqueue(make_packet("n" * 24, "conv-2", priority="urgent"))
    assert _ids(queue.pending()) == [new_id]

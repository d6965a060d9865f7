"""Both queue backends do what the transition table says, and refuse what it does not allow.

The cases come from :mod:`frontline.handoff.transitions` itself: every transition an
agent can ask for (and the desk's re-offer), from every state an entry can be in as
that agent sees it. Where the table allows none of its start states (and the request
was not done already), every backend must refuse with the same error and leave the
entry as it was; where it allows one, every backend must write what the table says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from frontline.handoff.base import HandoffQueue
from frontline.handoff.entry import CLAIMED, NotOwner, QueueEntry
from frontline.handoff.queue import create
from frontline.handoff.transitions import (
    CLAIM,
    REASSIGN,
    RELEASE,
    REOFFER,
    RESOLVE,
    From,
    Increment,
    Owner,
    Transition,
    Value,
    done_already,
    transition_error,
)
from tests.handoff.support import make_packet, must_get, wait_until

AGENT, OTHER = "ana", "ben"
CODE = "resolved"
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class State:
    """An entry's state as the agent ``AGENT`` finds it."""

    name: str
    status: str
    owner: str | None = None
    expired: bool = False

    def entry(self) -> QueueEntry:
        """A stand-in entry in this state, to read the table with."""
        return QueueEntry(
            "e",
            {},
            self.status,  # type: ignore[arg-type]
            EPOCH,
            claimed_by=self.owner,
            resolution_code=CODE if self.status == "resolved" else None,
        )


STATES = (
    State("pending", "pending"),
    State("held by the agent", "claimed", AGENT),
    State("held by the agent, lease run out", "claimed", AGENT, expired=True),
    State("held by another agent", "claimed", OTHER),
    State("held by another agent, lease run out", "claimed", OTHER, expired=True),
    State("resolved by the agent", "resolved", AGENT),
    State("resolved by another agent", "resolved", OTHER),
)

#: What each transition is, asked of a queue for ``AGENT``.
REQUESTS: dict[str, Callable[[HandoffQueue, str], Any]] = {
    CLAIM.name: lambda queue, entry_id: queue.claim(entry_id, AGENT),
    RELEASE.name: lambda queue, entry_id: queue.release(entry_id, AGENT),
    REASSIGN.name: lambda queue, entry_id: queue.reassign(entry_id, AGENT),
    RESOLVE.name: lambda queue, entry_id: queue.resolve(entry_id, AGENT, CODE),
    REOFFER.name: lambda queue, entry_id: queue.deliver(),
}
#: Re-offering is the desk's, with its lease: the queue whose leases run out at once.
ASKED_OF_SHORT = {REOFFER.name}


def ask(queues: tuple[HandoffQueue, HandoffQueue], rule: Transition, entry_id: str) -> Any:
    """Requests ``rule`` of the queue it is asked of."""
    long, short = queues
    return REQUESTS[rule.name](short if rule.name in ASKED_OF_SHORT else long, entry_id)


RULES = (CLAIM, RELEASE, REASSIGN, RESOLVE, REOFFER)


def allowed(rule: Transition, state: State) -> bool:
    return any(start.matches(state.entry(), AGENT, state.expired) for start in rule.start)


def cases(*, legal: bool) -> list[Any]:
    return [
        pytest.param(rule, state, id=f"{rule.name} / {state.name}")
        for rule in RULES
        for state in STATES
        if allowed(rule, state) == legal
        and not done_already(rule, state.entry(), AGENT, CODE if rule is RESOLVE else None)
    ]


@pytest.fixture
def queues(backend: dict[str, Any]) -> Iterator[tuple[HandoffQueue, HandoffQueue]]:
    """The same queue with a one-minute lease and with leases that run out at once."""
    with create({**backend, "lease_seconds": 60}) as long, create(
        {**backend, "lease_seconds": 0.05}
    ) as short:
        yield long, short


def in_state(queues: tuple[HandoffQueue, HandoffQueue], state: State) -> QueueEntry:
    """A new entry brought into ``state`` through the queue's own operations."""
    long, short = queues
    entry_id = long.enqueue(make_packet())
    if state.owner is not None:
        (short if state.expired else long).claim(entry_id, state.owner)
    if state.status == "resolved":
        long.resolve(entry_id, state.owner or AGENT, CODE)
    if state.expired:
        wait_until(lambda: lapsed(must_get(long, entry_id)))
    entry = must_get(long, entry_id)
    assert (entry.status, entry.claimed_by) == (state.status, state.owner)
    return entry


def lapsed(entry: QueueEntry) -> bool:
    """The lease ran out by this machine's clock, which the local Redis server shares."""
    assert entry.lease_expires_at is not None
    return entry.lease_expires_at < datetime.now(timezone.utc) - timedelta(milliseconds=20)


def test_the_table_forbids_something_and_allows_something() -> None:
    assert len(cases(legal=False)) >= 15
    assert len(cases(legal=True)) >= 8


@pytest.mark.parametrize(("rule", "state"), cases(legal=False))
def test_every_backend_refuses_what_the_table_does_not_allow(
    queues: tuple[HandoffQueue, HandoffQueue], rule: Transition, state: State
) -> None:
    before = in_state(queues, state)
    if rule is REOFFER:
        assert before.entry_id not in ask(queues, rule, before.entry_id).reoffered
    else:
        with pytest.raises(type(transition_error(before, before.entry_id, AGENT))):
            ask(queues, rule, before.entry_id)
    assert must_get(queues[0], before.entry_id) == before


@pytest.mark.parametrize(("rule", "state"), cases(legal=True))
def test_every_backend_writes_what_the_table_says(
    queues: tuple[HandoffQueue, HandoffQueue], rule: Transition, state: State
) -> None:
    before = in_state(queues, state)
    ask(queues, rule, before.entry_id)
    after = must_get(queues[0], before.entry_id)
    assert after.status == rule.to
    expected: dict[str, Any] = {}
    for field, value in rule.sets:
        old = getattr(before, field)
        if isinstance(value, Increment):
            step = value.when_from is None or value.when_from == before.status
            expected[field] = old + int(step)
        elif value is Value.AGENT:
            expected[field] = AGENT
        elif value is Value.CODE:
            expected[field] = CODE
        elif value is Value.CLEAR:
            expected[field] = None
        elif value is Value.NOW_IF_UNSET and old is not None:
            expected[field] = old
        else:  # NOW, LEASE_END, NOW_IF_UNSET on an unset field: a fresh time
            assert getattr(after, field) is not None and getattr(after, field) >= before.enqueued_at
            expected[field] = getattr(after, field)
    assert {field: getattr(after, field) for field in expected} == expected
    # Nothing else changed.
    restored = {field: getattr(before, field) for field in expected}
    assert replace(after, status=before.status, **restored) == before


def test_a_rule_written_only_in_the_table_runs_on_every_backend(
    queues: tuple[HandoffQueue, HandoffQueue],
) -> None:
    # "Park": the owner puts a conversation back without it counting as a re-offer.
    park = Transition(
        name="park",
        to="pending",
        start=(From(CLAIMED, Owner.AGENT),),
        sets=(("claimed_by", Value.CLEAR), ("lease_expires_at", Value.CLEAR)),
        logged="Agent %(agent)s parked %(entry)s",
    )
    long, _ = queues
    entry = in_state(queues, STATES[1])
    parked = long._change(park, entry.entry_id, AGENT)
    assert (parked.status, parked.claimed_by, parked.reoffers) == ("pending", None, 0)
    assert parked.claimed_at == entry.claimed_at  # the rule leaves it alone
    with pytest.raises(NotOwner):
        long._change(park, entry.entry_id, AGENT)

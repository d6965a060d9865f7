"""The one table of how a handoff queue entry changes state, read by every queue backend.

An entry is ``pending``, ``claimed`` or ``resolved`` (see :mod:`frontline.handoff.base`).
Each :class:`Transition` says, for one operation:

* **from where**: the states it may start from, and for each who must own the entry
  then (the agent the operation is for, anyone else, or nobody in particular) and
  whether the owner's lease must have run out;
* **who may ask**: the desk roles that may request it on that path (reassigning and
  resolving a waiting conversation are for supervisors);
* **what it sets**: the new status and each field's new value;
* **what counts as done already**: the state in which a repeated request returns the
  entry unchanged instead of failing (a retried claim or resolution is harmless).

The SQL queue compiles a transition into one conditional ``UPDATE``
(:mod:`frontline.handoff.sql_queue`); the Redis queue passes it, as JSON, to the Lua
script that applies it atomically (:mod:`frontline.handoff.redis_queue`,
``frontline/handoff/lua/``). A rule changes here, once, for both.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from functools import cached_property

from frontline.errors import QueueError
from frontline.handoff.entry import (
    CLAIMED,
    PENDING,
    RESOLVED,
    AlreadyClaimed,
    AlreadyResolved,
    EntryNotFound,
    EntryStatus,
    NotOwner,
    QueueEntry,
)

AGENT = "agent"
SUPERVISOR = "supervisor"
REVIEWER = "reviewer"
#: The roles that work the queue: agents, and supervisors who also reassign and see everything.
QUEUE_ROLES = (AGENT, SUPERVISOR)
#: Every desk role: reviewers label messages in the review inbox and never work the queue.
ROLES = (*QUEUE_ROLES, REVIEWER)


class Owner(enum.Enum):
    """Who must own the entry for a path of a transition, relative to the agent."""

    ANYONE = "anyone"
    AGENT = "agent"  # the agent the transition is for
    OTHER = "other"  # an agent other than that one


class Lease(enum.Enum):
    """What the owner's lease must be for a path of a transition."""

    ANY = "any"
    EXPIRED = "expired"  # run out (or never set, on rows older than leases)


class Value(enum.Enum):
    """What a transition writes into a field."""

    AGENT = "agent"  # the agent's id
    CODE = "code"  # the resolution code
    NOW = "now"
    NOW_IF_UNSET = "now_if_unset"  # keeps an earlier time
    LEASE_END = "lease_end"  # now plus the queue's lease
    CLEAR = "clear"


@dataclass(frozen=True)
class Increment:
    """Adds one to a counter; only when the entry was in ``when_from``, if given."""

    when_from: EntryStatus | None = None


@dataclass(frozen=True)
class From:
    """One state a transition may start from."""

    status: EntryStatus
    owner: Owner = Owner.ANYONE
    lease: Lease = Lease.ANY
    roles: tuple[str, ...] = QUEUE_ROLES

    def matches(self, entry: QueueEntry, agent_id: str, now_expired: bool) -> bool:
        """Whether ``entry`` is in this state for ``agent_id``.

        Args:
            entry: The entry as it is now.
            agent_id: The agent the transition is for.
            now_expired: Whether the entry's lease has run out.
        """
        if entry.status != self.status:
            return False
        if self.owner is Owner.AGENT and entry.claimed_by != agent_id:
            return False
        if self.owner is Owner.OTHER and entry.claimed_by == agent_id:
            return False
        return self.lease is Lease.ANY or now_expired


@dataclass(frozen=True)
class Transition:
    """One operation on an entry: where it may start, who may ask, what it sets.

    Attributes:
        name: The operation (``claim``, ``release``, ...).
        to: The status the entry ends in.
        start: The states it may start from (any one of them).
        sets: ``(field, value)`` pairs written besides the status, in order.
        done: The state in which a repeated request returns the entry unchanged
            (same agent, and same resolution code for a resolution); None if none.
        logged: What the log says once it happened (``%(agent)s``, ``%(entry)s``,
            ``%(code)s``).
    """

    name: str
    to: EntryStatus
    start: tuple[From, ...]
    sets: tuple[tuple[str, Value | Increment], ...]
    done: From | None = None
    logged: str = ""

    def roles_allowed(self, status: EntryStatus) -> tuple[str, ...]:
        """The desk roles that may ask for this on an entry in ``status``.

        A status the transition does not start from is left to the queue (it refuses,
        or returns the entry when the request was done already): every role may ask.
        """
        paths = [path for path in self.start if path.status == status]
        if not paths:
            return QUEUE_ROLES
        return tuple(role for role in ROLES if any(role in path.roles for path in paths))

    @property
    def roles(self) -> tuple[str, ...]:
        """The desk roles that may ask for this at all."""
        return tuple(role for role in ROLES if any(role in path.roles for path in self.start))

    @cached_property
    def as_json(self) -> str:
        """The transition for the Lua scripts of the Redis queue."""
        return json.dumps(
            {
                "name": self.name,
                "to": self.to,
                "start": [[p.status, p.owner.value, p.lease.value] for p in self.start],
                "sets": [
                    [field, "increment", value.when_from or ""]
                    if isinstance(value, Increment)
                    else [field, value.value, ""]
                    for field, value in self.sets
                ],
            },
            separators=(",", ":"),
        )


#: What an agent taking an entry writes: the owner, one lease, one more claim.
TAKE: tuple[tuple[str, Value | Increment], ...] = (
    ("claimed_by", Value.AGENT),
    ("claimed_at", Value.NOW),
    ("first_claimed_at", Value.NOW_IF_UNSET),
    ("lease_expires_at", Value.LEASE_END),
    ("claims", Increment()),
)

#: Taking a pending entry, or one whose owner's lease ran out (a take-over, which
#: counts as a re-offer too), for one lease.
CLAIM = Transition(
    name="claim",
    to=CLAIMED,
    start=(From(PENDING), From(CLAIMED, Owner.OTHER, Lease.EXPIRED)),
    sets=(*TAKE, ("reoffers", Increment(when_from=CLAIMED))),
    done=From(CLAIMED, Owner.AGENT),
    logged="Agent %(agent)s claimed handoff queue entry %(entry)s",
)

#: The owner gives the entry back to the queue.
RELEASE = Transition(
    name="release",
    to=PENDING,
    start=(From(CLAIMED, Owner.AGENT),),
    sets=(
        ("claimed_by", Value.CLEAR),
        ("claimed_at", Value.CLEAR),
        ("lease_expires_at", Value.CLEAR),
        ("reoffers", Increment()),
    ),
    logged="Agent %(agent)s released handoff queue entry %(entry)s",
)

#: The desk takes back an entry whose owner went silent, and offers it again.
REOFFER = Transition(
    name="reoffer",
    to=PENDING,
    start=(From(CLAIMED, Owner.ANYONE, Lease.EXPIRED),),
    sets=RELEASE.sets,
)

#: A supervisor gives an open entry to an agent, whoever held it.
REASSIGN = Transition(
    name="reassign",
    to=CLAIMED,
    start=(From(PENDING, roles=(SUPERVISOR,)), From(CLAIMED, Owner.OTHER, roles=(SUPERVISOR,))),
    sets=TAKE,
    done=From(CLAIMED, Owner.AGENT),
    logged="Handoff queue entry %(entry)s reassigned to agent %(agent)s",
)

#: The owner's heartbeat: one more lease.
RENEW = Transition(
    name="renew",
    to=CLAIMED,
    start=(From(CLAIMED, Owner.AGENT),),
    sets=(("lease_expires_at", Value.LEASE_END),),
)

#: The owner, or a supervisor on a waiting entry (claim and resolve in one step), closes it.
RESOLVE = Transition(
    name="resolve",
    to=RESOLVED,
    start=(From(PENDING, roles=(SUPERVISOR,)), From(CLAIMED, Owner.AGENT)),
    sets=(
        ("claimed_by", Value.AGENT),
        ("claimed_at", Value.NOW_IF_UNSET),
        ("first_claimed_at", Value.NOW_IF_UNSET),
        ("lease_expires_at", Value.CLEAR),
        ("claims", Increment(when_from=PENDING)),
        ("resolution_code", Value.CODE),
        ("resolved_at", Value.NOW),
    ),
    done=From(RESOLVED, Owner.AGENT),
    logged="Agent %(agent)s resolved handoff queue entry %(entry)s as %(code)s",
)

#: Every transition, by name.
TRANSITIONS: dict[str, Transition] = {
    rule.name: rule for rule in (CLAIM, RELEASE, REOFFER, REASSIGN, RENEW, RESOLVE)
}


def done_already(
    rule: Transition, entry: QueueEntry, agent_id: str, resolution_code: str | None = None
) -> bool:
    """Whether ``entry`` is what a repeated ``rule`` request for ``agent_id`` asked for."""
    if rule.done is None or not rule.done.matches(entry, agent_id, now_expired=False):
        return False
    return resolution_code is None or entry.resolution_code == resolution_code


def transition_error(entry: QueueEntry | None, entry_id: str, agent_id: str) -> QueueError:
    """Returns the error explaining why ``agent_id`` could not change an entry."""
    if entry is None:
        return EntryNotFound(entry_id)
    if entry.status == RESOLVED:
        return AlreadyResolved(entry_id, entry.resolution_code)
    if entry.status == CLAIMED and entry.claimed_by != agent_id:
        return AlreadyClaimed(entry_id, entry.claimed_by)
    if entry.status == PENDING:
        return NotOwner(entry_id, agent_id)
    return QueueError(f"handoff queue entry {entry_id!r} is in unexpected state {entry.status!r}")

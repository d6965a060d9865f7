"""The handoff queue's interface, its entry type and its errors.

Human agents work from a queue of *context packets* (see :mod:`frontline.handoff.packet`).
An entry moves through three states::

    pending --claim--> claimed --resolve--> resolved
    pending <--release, lease ran out-- claimed
    pending --resolve--> resolved        (the agent claims and resolves in one step)

Every implementation gives the same guarantees:

* ``enqueue`` is idempotent on ``packet["handoff_id"]``: a retried action never creates
  a second ticket.
* **Never two owners.** ``claim`` is atomic: of any number of concurrent claims on an
  entry, exactly one wins; the others raise :class:`AlreadyClaimed`. Every change of
  owner (claim, take-over of an expired lease, release, reassignment, resolution) is
  one atomic step that checks the current state.
* **Leases.** A claim holds the entry for ``lease_seconds``; the agent's desk renews
  the lease with :meth:`HandoffQueue.renew` while the agent's session is alive. Once a
  lease has run out, another agent may claim the entry, and :meth:`HandoffQueue.deliver`
  puts it back on the pending list (it is *re-offered*).
* **At least once, never lost.** An entry stays on the queue until it is resolved:
  pending entries are listed until someone claims them, claimed ones come back when
  their owner goes silent, and only a resolution removes an entry from the open ones.
* **Priority, then waiting time.** ``pending`` and ``open_entries`` list the most urgent
  entries first and, within a priority, the longest waiting first.
* **Timings.** Each entry records when it was enqueued, first claimed and resolved, so
  waiting time (enqueued to first claim) and handling time (first claim to resolution)
  can be reported.
* Connection failures surface as :class:`~frontline.errors.QueueError`, chained to the
  driver's exception.
"""

from __future__ import annotations

import abc
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Literal

from frontline.errors import ConfigurationError, PacketInvalid, QueueError

logger = logging.getLogger(__name__)

EntryStatus = Literal["pending", "claimed", "resolved"]

PENDING: EntryStatus = "pending"
CLAIMED: EntryStatus = "claimed"
RESOLVED: EntryStatus = "resolved"
STATUSES: tuple[EntryStatus, ...] = (PENDING, CLAIMED, RESOLVED)

#: Packet priorities, most urgent first; the queue lists entries in this order.
PRIORITY_ORDER: tuple[str, ...] = ("urgent", "high", "normal", "low")
DEFAULT_PRIORITY = "normal"

#: How long a claim lasts without renewal, unless the queue is configured otherwise.
DEFAULT_LEASE_SECONDS = 60.0

#: Longest handoff id, conversation id, agent id and resolution code a queue accepts.
MAX_HANDOFF_ID_LENGTH = 64
MAX_CONVERSATION_ID_LENGTH = 255
MAX_AGENT_ID_LENGTH = 255
MAX_RESOLUTION_CODE_LENGTH = 64


class EntryNotFound(QueueError):
    """No entry with this id exists in this queue."""

    def __init__(self, entry_id: str) -> None:
        super().__init__(f"handoff queue entry {entry_id!r} does not exist")
        self.entry_id = entry_id


class AlreadyClaimed(QueueError):
    """The entry is owned by another agent."""

    def __init__(self, entry_id: str, claimed_by: str | None) -> None:
        super().__init__(f"handoff queue entry {entry_id!r} is already claimed by {claimed_by!r}")
        self.entry_id = entry_id
        self.claimed_by = claimed_by


class NotOwner(QueueError):
    """The agent does not own the entry (any more): it is pending or resolved."""

    def __init__(self, entry_id: str, agent_id: str) -> None:
        super().__init__(f"agent {agent_id!r} does not own handoff queue entry {entry_id!r}")
        self.entry_id = entry_id
        self.agent_id = agent_id


class AlreadyResolved(QueueError):
    """The entry was resolved already and cannot change any more."""

    def __init__(self, entry_id: str, resolution_code: str | None) -> None:
        super().__init__(
            f"handoff queue entry {entry_id!r} is already resolved ({resolution_code!r})"
        )
        self.entry_id = entry_id
        self.resolution_code = resolution_code


@dataclass(frozen=True)
class QueueEntry:
    """One handoff as a human agent sees it on the queue.

    Attributes:
        entry_id: The id of the entry (an opaque string, unique within its queue).
        packet: The context packet, exactly as it was enqueued.
        status: ``pending``, ``claimed`` or ``resolved``.
        enqueued_at: When the packet was put on the queue (UTC).
        claimed_by: Id of the agent who owns the entry (the one who resolved it, once
            resolved); None while it is pending.
        claimed_at: When the current owner took the entry (UTC).
        resolved_at: When the entry was resolved (UTC).
        resolution_code: The agent's resolution code, once resolved.
        priority: The packet's priority (``urgent``, ``high``, ``normal`` or ``low``).
        first_claimed_at: When an agent first took the entry; kept when the entry is
            re-offered or reassigned, so waiting time is what the customer waited.
        lease_expires_at: While claimed: when the owner's lease runs out unless renewed.
        claims: How many times an agent took the entry (claims, take-overs, reassignments).
        reoffers: How many times the entry went back to pending (lease ran out, released).
    """

    entry_id: str
    packet: dict[str, Any]
    status: EntryStatus
    enqueued_at: datetime
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution_code: str | None = None
    priority: str = DEFAULT_PRIORITY
    first_claimed_at: datetime | None = None
    lease_expires_at: datetime | None = None
    claims: int = 0
    reoffers: int = 0

    @property
    def handoff_id(self) -> str:
        """The packet's handoff id."""
        return str(self.packet["handoff_id"])

    @property
    def conversation_id(self) -> str:
        """The packet's conversation id."""
        return str(self.packet["conversation_id"])

    @property
    def waiting_seconds(self) -> float | None:
        """Enqueued to first claimed, in seconds; None while nobody has claimed it."""
        if self.first_claimed_at is None:
            return None
        return max((self.first_claimed_at - self.enqueued_at).total_seconds(), 0.0)

    @property
    def handling_seconds(self) -> float | None:
        """First claimed to resolved, in seconds; None until resolved."""
        if self.first_claimed_at is None or self.resolved_at is None:
            return None
        return max((self.resolved_at - self.first_claimed_at).total_seconds(), 0.0)

    def waited_so_far(self, now: datetime | None = None) -> float:
        """Seconds the customer has waited for a human: until the first claim, or now."""
        end = self.first_claimed_at or now or utcnow()
        return max((end - self.enqueued_at).total_seconds(), 0.0)

    def lease_expired(self, now: datetime | None = None) -> bool:
        """Whether the entry is claimed and its owner's lease has run out."""
        return (
            self.status == CLAIMED
            and self.lease_expires_at is not None
            and self.lease_expires_at <= (now or utcnow())
        )


@dataclass(frozen=True)
class Delivery:
    """What one :meth:`HandoffQueue.deliver` call put on the pending list.

    Attributes:
        delivered: Entries newly handed to the desk (Redis Streams: read from the
            stream by the consumer group; SQL: always empty, entries are listed as
            soon as they are enqueued).
        reoffered: Entries whose owner's lease had run out, now pending again.
    """

    delivered: tuple[str, ...] = ()
    reoffered: tuple[str, ...] = ()


class HandoffQueue(abc.ABC):
    """A queue of handoff context packets that human agents claim and resolve.

    Queues are safe to share between threads. Use one as a context manager, or call
    :meth:`close` when done.

    Attributes:
        lease_seconds: How long a claim lasts without :meth:`renew`.
    """

    lease_seconds: float = DEFAULT_LEASE_SECONDS

    @abc.abstractmethod
    def enqueue(self, packet: dict[str, Any]) -> str:
        """Puts a context packet on the queue.

        Args:
            packet: A JSON-able dict with at least ``handoff_id`` and ``conversation_id``;
                its ``priority`` (default ``normal``) orders the queue.

        Returns:
            The entry id. Enqueuing a packet whose ``handoff_id`` is already on the
            queue adds nothing and returns the original entry's id; so does enqueuing
            for a conversation that has an entry pending or claimed (at most one open
            handoff per conversation: a customer restarting and asking again cannot
            queue twice).

        Raises:
            PacketInvalid: The packet lacks the ids or cannot be serialised to JSON.
            QueueError: The queue's store could not be reached.
        """

    @abc.abstractmethod
    def pending(self, limit: int = 100) -> list[QueueEntry]:
        """Returns up to ``limit`` unclaimed entries, most urgent and longest waiting first."""

    @abc.abstractmethod
    def open_entries(self, limit: int = 200) -> list[QueueEntry]:
        """Returns up to ``limit`` pending or claimed entries, in the order of :meth:`pending`."""

    @abc.abstractmethod
    def held_by(self, agent_id: str) -> list[QueueEntry]:
        """Returns the entries ``agent_id`` owns now, in the order of :meth:`pending`."""

    @abc.abstractmethod
    def get(self, entry_id: str) -> QueueEntry | None:
        """Returns the entry, or None if this queue has no such entry."""

    @abc.abstractmethod
    def find_by_conversation(self, conversation_id: str) -> list[QueueEntry]:
        """Returns every entry of one conversation, oldest first, whatever its status."""

    @abc.abstractmethod
    def claim(self, entry_id: str, agent_id: str) -> QueueEntry:
        """Makes ``agent_id`` the owner of a pending entry, for one lease.

        An entry whose owner's lease has run out can be claimed too (a take-over).
        Claiming an entry the same agent already owns returns it unchanged.

        Raises:
            EntryNotFound: No such entry.
            AlreadyClaimed: Another agent owns the entry and their lease is running.
            AlreadyResolved: The entry was resolved already.
            QueueError: The queue's store could not be reached.
        """

    @abc.abstractmethod
    def renew(self, agent_id: str) -> list[QueueEntry]:
        """Extends the lease of every entry ``agent_id`` owns by ``lease_seconds``.

        The desk calls this while the agent's session is alive (its heartbeat).

        Returns:
            The entries the agent still owns, with their new leases. An entry that was
            re-offered or taken over is not among them: the agent has lost it.
        """

    @abc.abstractmethod
    def release(self, entry_id: str, agent_id: str) -> QueueEntry:
        """Gives an entry ``agent_id`` owns back to the queue (pending again).

        Raises:
            EntryNotFound: No such entry.
            NotOwner: The entry is pending (the agent no longer owns it).
            AlreadyClaimed: Another agent owns the entry.
            AlreadyResolved: The entry was resolved already.
        """

    @abc.abstractmethod
    def reassign(self, entry_id: str, agent_id: str) -> QueueEntry:
        """Makes ``agent_id`` the owner of an open entry, whoever owned it (supervisors).

        Raises:
            EntryNotFound: No such entry.
            AlreadyResolved: The entry was resolved already.
        """

    @abc.abstractmethod
    def deliver(self, count: int = 100) -> Delivery:
        """Offers new entries to the desk and re-offers those whose lease ran out.

        Desk processes call this regularly; it is safe to call from any number of
        processes at once.

        Args:
            count: Most entries handled per step (bounds the work of one call).
        """

    @abc.abstractmethod
    def resolve(self, entry_id: str, agent_id: str, resolution_code: str) -> QueueEntry:
        """Records that ``agent_id`` resolved the entry with ``resolution_code``.

        The entry must be pending (the agent then claims and resolves it in one step)
        or claimed by ``agent_id``. Resolving again with the same agent and code
        returns the entry unchanged, so a retried request is harmless.

        Raises:
            EntryNotFound: No such entry.
            AlreadyClaimed: Another agent owns the entry.
            AlreadyResolved: The entry was resolved already, by another agent or with
                another code.
            QueueError: The queue's store could not be reached.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Releases the queue's connections. The queue is unusable afterwards."""

    def __enter__(self) -> HandoffQueue:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def packet_ids(packet: Mapping[str, Any]) -> tuple[str, str]:
    """Returns the packet's ``(handoff_id, conversation_id)``, checking both.

    Raises:
        PacketInvalid: Either id is missing, empty, not a string or too long.
    """
    if not isinstance(packet, Mapping):
        raise PacketInvalid(f"a handoff packet must be a mapping, not {type(packet).__name__}")
    handoff_id = packet.get("handoff_id")
    conversation_id = packet.get("conversation_id")
    if not isinstance(handoff_id, str) or not handoff_id:
        raise PacketInvalid("a handoff packet needs a non-empty string 'handoff_id'")
    if len(handoff_id) > MAX_HANDOFF_ID_LENGTH:
        raise PacketInvalid(f"'handoff_id' is longer than {MAX_HANDOFF_ID_LENGTH} characters")
    if not isinstance(conversation_id, str) or not conversation_id:
        raise PacketInvalid("a handoff packet needs a non-empty string 'conversation_id'")
    if len(conversation_id) > MAX_CONVERSATION_ID_LENGTH:
        raise PacketInvalid(
            f"'conversation_id' is longer than {MAX_CONVERSATION_ID_LENGTH} characters"
        )
    return handoff_id, conversation_id


def packet_priority(packet: Mapping[str, Any]) -> str:
    """The packet's priority; ``normal`` when it has none or an unknown one."""
    priority = packet.get("priority")
    return priority if priority in PRIORITY_ORDER else DEFAULT_PRIORITY


def priority_rank(priority: str | None) -> int:
    """0 for ``urgent`` up to 3 for ``low``; unknown priorities rank as ``normal``."""
    if priority in PRIORITY_ORDER:
        return PRIORITY_ORDER.index(priority)
    return PRIORITY_ORDER.index(DEFAULT_PRIORITY)


def check_lease_seconds(lease_seconds: float) -> float:
    """Checks a lease duration.

    Raises:
        ConfigurationError: The duration is not a positive number of seconds.
    """
    if (
        isinstance(lease_seconds, bool)
        or not isinstance(lease_seconds, (int, float))
        or not 0.05 <= lease_seconds <= 86_400
    ):
        raise ConfigurationError(
            f"the handoff lease must be 0.05 to 86400 seconds, not {lease_seconds!r}"
        )
    return float(lease_seconds)


def dump_packet(packet: Mapping[str, Any]) -> str:
    """Serialises a packet to compact JSON.

    Raises:
        PacketInvalid: The packet holds values JSON cannot represent.
    """
    try:
        return json.dumps(packet, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PacketInvalid(f"a handoff packet must be JSON-serialisable: {exc}") from exc


def load_packet(text: str, entry_id: str) -> dict[str, Any]:
    """Parses a stored packet.

    Raises:
        QueueError: The stored text is not a JSON object (the store was tampered with).
    """
    try:
        packet = json.loads(text)
    except ValueError as exc:
        raise QueueError(f"handoff queue entry {entry_id!r} holds a corrupt packet") from exc
    if not isinstance(packet, dict):
        raise QueueError(f"handoff queue entry {entry_id!r} holds a corrupt packet")
    return packet


def check_agent_id(agent_id: str) -> str:
    """Checks an agent id.

    Raises:
        ValueError: The id is empty, not a string or too long.
    """
    if not isinstance(agent_id, str) or not agent_id.strip():
        raise ValueError("agent_id must be a non-empty string")
    if len(agent_id) > MAX_AGENT_ID_LENGTH:
        raise ValueError(f"agent_id is longer than {MAX_AGENT_ID_LENGTH} characters")
    return agent_id


def check_resolution_code(resolution_code: str) -> str:
    """Checks a resolution code.

    Raises:
        ValueError: The code is empty, not a string or too long.
    """
    if not isinstance(resolution_code, str) or not resolution_code.strip():
        raise ValueError("resolution_code must be a non-empty string")
    if len(resolution_code) > MAX_RESOLUTION_CODE_LENGTH:
        raise ValueError(f"resolution_code is longer than {MAX_RESOLUTION_CODE_LENGTH} characters")
    return resolution_code


def check_limit(limit: int) -> int:
    """Checks a ``pending`` limit.

    Raises:
        ValueError: The limit is not a positive integer.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, not {limit!r}")
    return limit


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

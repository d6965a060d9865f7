"""A handoff queue entry: its states, its data, its errors and the checks of its inputs.

The queue's contract is in :mod:`frontline.handoff.base`; how an entry moves between
the states is in :mod:`frontline.handoff.transitions`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from frontline.errors import ConfigurationError, PacketInvalid, QueueError

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
    return _check_text("agent_id", agent_id, MAX_AGENT_ID_LENGTH)


def check_resolution_code(resolution_code: str) -> str:
    """Checks a resolution code.

    Raises:
        ValueError: The code is empty, not a string or too long.
    """
    return _check_text("resolution_code", resolution_code, MAX_RESOLUTION_CODE_LENGTH)


def _check_text(name: str, value: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    if len(value) > max_length:
        raise ValueError(f"{name} is longer than {max_length} characters")
    return value


def check_limit(limit: int) -> int:
    """Checks a ``pending`` limit.

    Raises:
        ValueError: The limit is not a positive integer.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, not {limit!r}")
    return limit

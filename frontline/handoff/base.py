"""The handoff queue's interface, its entry type and its errors.

Human agents work from a queue of *context packets* (see :mod:`frontline.handoff.packet`).
An entry moves through three states::

    pending --claim--> claimed --resolve--> resolved
       \\_________________resolve__________________/

Every implementation gives the same guarantees:

* ``enqueue`` is idempotent on ``packet["handoff_id"]``: a retried action never creates
  a second ticket.
* ``claim`` is atomic: of any number of concurrent claims on a pending entry, exactly
  one wins; the others raise :class:`AlreadyClaimed`.
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

from frontline.errors import PacketInvalid, QueueError

logger = logging.getLogger(__name__)

EntryStatus = Literal["pending", "claimed", "resolved"]

PENDING: EntryStatus = "pending"
CLAIMED: EntryStatus = "claimed"
RESOLVED: EntryStatus = "resolved"
STATUSES: tuple[EntryStatus, ...] = (PENDING, CLAIMED, RESOLVED)

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
        claimed_by: Id of the agent who owns the entry, once claimed.
        claimed_at: When the entry was claimed (UTC).
        resolved_at: When the entry was resolved (UTC).
        resolution_code: The agent's resolution code, once resolved.
    """

    entry_id: str
    packet: dict[str, Any]
    status: EntryStatus
    enqueued_at: datetime
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution_code: str | None = None

    @property
    def handoff_id(self) -> str:
        """The packet's handoff id."""
        return str(self.packet["handoff_id"])

    @property
    def conversation_id(self) -> str:
        """The packet's conversation id."""
        return str(self.packet["conversation_id"])


class HandoffQueue(abc.ABC):
    """A queue of handoff context packets that human agents claim and resolve.

    Queues are safe to share between threads. Use one as a context manager, or call
    :meth:`close` when done.
    """

    @abc.abstractmethod
    def enqueue(self, packet: dict[str, Any]) -> str:
        """Puts a context packet on the queue.

        Args:
            packet: A JSON-able dict with at least ``handoff_id`` and ``conversation_id``.

        Returns:
            The entry id. Enqueuing a packet whose ``handoff_id`` is already on the
            queue adds nothing and returns the original entry's id.

        Raises:
            PacketInvalid: The packet lacks the ids or cannot be serialised to JSON.
            QueueError: The queue's store could not be reached.
        """

    @abc.abstractmethod
    def pending(self, limit: int = 100) -> list[QueueEntry]:
        """Returns up to ``limit`` unclaimed entries, oldest first."""

    @abc.abstractmethod
    def get(self, entry_id: str) -> QueueEntry | None:
        """Returns the entry, or None if this queue has no such entry."""

    @abc.abstractmethod
    def find_by_conversation(self, conversation_id: str) -> list[QueueEntry]:
        """Returns every entry of one conversation, oldest first, whatever its status."""

    @abc.abstractmethod
    def claim(self, entry_id: str, agent_id: str) -> QueueEntry:
        """Makes ``agent_id`` the owner of a pending entry.

        Claiming an entry the same agent already owns returns it unchanged.

        Raises:
            EntryNotFound: No such entry.
            AlreadyClaimed: Another agent owns the entry.
            AlreadyResolved: The entry was resolved already.
            QueueError: The queue's store could not be reached.
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
    """Returns the error explaining why ``agent_id`` could not claim or resolve an entry."""
    if entry is None:
        return EntryNotFound(entry_id)
    if entry.status == RESOLVED:
        return AlreadyResolved(entry_id, entry.resolution_code)
    if entry.status == CLAIMED and entry.claimed_by != agent_id:
        return AlreadyClaimed(entry_id, entry.claimed_by)
    return QueueError(f"handoff queue entry {entry_id!r} is in unexpected state {entry.status!r}")

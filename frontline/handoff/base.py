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

Which state changes are allowed, for whom, and what each writes is one table,
:mod:`frontline.handoff.transitions`, that every implementation applies; the entry, its
errors and the checks of its inputs are in :mod:`frontline.handoff.entry`.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from frontline.backends import Backend
from frontline.handoff import entry as queue_entry
from frontline.handoff.entry import (
    DEFAULT_LEASE_SECONDS,
    Delivery,
    QueueEntry,
    check_agent_id,
    check_resolution_code,
)
from frontline.handoff.transitions import (
    CLAIM,
    REASSIGN,
    RELEASE,
    RESOLVE,
    Transition,
    done_already,
    transition_error,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")


class HandoffQueue(Backend, abc.ABC):
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
        return self._change(CLAIM, entry_id, check_agent_id(agent_id))

    @abc.abstractmethod
    def renew(self, agent_id: str) -> list[QueueEntry]:
        """Extends the lease of every entry ``agent_id`` owns by ``lease_seconds``.

        The desk calls this while the agent's session is alive (its heartbeat).

        Returns:
            The entries the agent still owns, with their new leases. An entry that was
            re-offered or taken over is not among them: the agent has lost it.
        """

    def release(self, entry_id: str, agent_id: str) -> QueueEntry:
        """Gives an entry ``agent_id`` owns back to the queue (pending again).

        Raises:
            EntryNotFound: No such entry.
            NotOwner: The entry is pending (the agent no longer owns it).
            AlreadyClaimed: Another agent owns the entry.
            AlreadyResolved: The entry was resolved already.
        """
        return self._change(RELEASE, entry_id, check_agent_id(agent_id))

    def reassign(self, entry_id: str, agent_id: str) -> QueueEntry:
        """Makes ``agent_id`` the owner of an open entry, whoever owned it (supervisors).

        Raises:
            EntryNotFound: No such entry.
            AlreadyResolved: The entry was resolved already.
        """
        return self._change(REASSIGN, entry_id, check_agent_id(agent_id))

    @abc.abstractmethod
    def deliver(self, count: int = 100) -> Delivery:
        """Offers new entries to the desk and re-offers those whose lease ran out.

        Desk processes call this regularly; it is safe to call from any number of
        processes at once.

        Args:
            count: Most entries handled per step (bounds the work of one call).
        """

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
        agent_id = check_agent_id(agent_id)
        return self._change(RESOLVE, entry_id, agent_id, check_resolution_code(resolution_code))

    @abc.abstractmethod
    def erase_conversation(self, conversation_id: str) -> int:
        """Deletes every entry of one conversation, whatever its status (erasure).

        Returns:
            How many entries were deleted.
        """

    @abc.abstractmethod
    def purge_resolved(self, before: datetime) -> int:
        """Deletes the entries resolved before ``before`` (retention); returns how many."""

    @abc.abstractmethod
    def close(self) -> None:
        """Releases the queue's connections. The queue is unusable afterwards."""

    @abc.abstractmethod
    def _apply(
        self, rule: Transition, entry_id: str, agent_id: str, resolution_code: str | None
    ) -> tuple[bool, QueueEntry | None]:
        """Applies ``rule`` to one entry in one atomic step, if it may start from its state.

        Args:
            rule: The transition (:mod:`frontline.handoff.transitions`).
            entry_id: The entry.
            agent_id: The agent the transition is for (checked).
            resolution_code: The code a resolution writes (checked), else None.

        Returns:
            Whether it changed the entry, and the entry as it is afterwards (None when
            there is no such entry).

        Raises:
            QueueError: The queue's store could not be reached.
        """

    def _change(
        self, rule: Transition, entry_id: str, agent_id: str, resolution_code: str | None = None
    ) -> QueueEntry:
        """Applies ``rule``; returns the entry, or raises why the agent could not change it."""
        changed, entry = self._apply(rule, entry_id, agent_id, resolution_code)
        if changed and entry is not None:
            logger.info(
                rule.logged, {"agent": agent_id, "entry": entry_id, "code": resolution_code}
            )
            return entry
        if entry is not None and done_already(rule, entry, agent_id, resolution_code):
            return entry
        raise transition_error(entry, entry_id, agent_id)


async def run_blocking(function: Callable[..., T], *args: Any) -> T:
    """Runs a blocking call (a queue's, the desk's account store's) from async code.

    It runs in the default executor, so the event loop keeps serving meanwhile.
    """
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def __getattr__(name: str) -> Any:
    """The entry's names (:mod:`frontline.handoff.entry`) stay importable from here."""
    try:
        return getattr(queue_entry, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None

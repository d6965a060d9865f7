"""The person's side of a contact, from the handoff queue's own transitions.

The queue records, for every entry, when it was enqueued, first claimed and resolved,
and with which code (:class:`~frontline.handoff.base.QueueEntry`). The outcome writer
reads a conversation's entries (:meth:`HandoffQueue.find_by_conversation`) when a
contact was handed off, given back or answered by a person, and again regularly while
an escalation is open, and copies the timings here:

* queue wait: the first entry's enqueued -> first claimed (what the customer waited);
* human handle time: first claimed -> resolved, summed over the contact's entries;
* the resolution code of the latest entry; the handoff's reason and the customer's
  tier from its packet when the events did not say.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from frontline.errors import QueueError
from frontline.handoff.base import RESOLVED, HandoffQueue, QueueEntry
from frontline.json_fields import object_at
from frontline.outcomes.simulated_clock import shift_entries
from frontline.outcomes.state import ContactState

logger = logging.getLogger(__name__)

#: Entries enqueued this long before the contact's first event still belong to it
#: (clocks of the action server and the Rasa server differ a little).
CLOCK_SLACK_SECONDS = 5.0


def contact_entries(state: ContactState, entries: Sequence[QueueEntry]) -> list[QueueEntry]:
    """The conversation's entries that belong to this contact, oldest first."""
    start = state.started_at - CLOCK_SLACK_SECONDS
    end = (state.last_event_at or state.started_at) + CLOCK_SLACK_SECONDS
    mine = [e for e in entries if start <= e.enqueued_at.timestamp() <= end]
    return sorted(mine, key=lambda entry: entry.enqueued_at)


def apply_entries(state: ContactState, entries: Sequence[QueueEntry]) -> bool:
    """Copies the person's side from the contact's queue entries into ``state``.

    Returns:
        Whether anything is still to come (an entry is open).
    """
    mine = contact_entries(state, entries)
    if not mine:
        return state.escalated_at is not None and state.resolution_code is None
    first, latest = mine[0], mine[-1]
    state.handoff_entry_id = latest.entry_id
    state.enqueued_at = first.enqueued_at.timestamp()
    state.queue_wait_seconds = _round(first.waiting_seconds)
    if first.first_claimed_at is not None:
        state.claimed_at = first.first_claimed_at.timestamp()
    handled = [entry.handling_seconds for entry in mine if entry.handling_seconds is not None]
    state.human_seconds = _round(sum(handled)) if handled else None
    if latest.status == RESOLVED:
        state.resolution_code = latest.resolution_code
        state.human_resolved_at = latest.resolved_at.timestamp() if latest.resolved_at else None
    else:
        state.resolution_code = None
    packet: dict[str, Any] = first.packet
    reason = object_at(packet, "reason")
    if reason.get("code"):
        state.escalation_reason = str(reason["code"])
    if reason.get("rule") and not state.escalation_rule:
        rule = reason["rule"]
        state.escalation_rule = str(rule.get("id") if isinstance(rule, dict) else rule)
    customer = object_at(packet, "customer")
    if customer.get("tier") and not state.tier:
        state.tier = str(customer["tier"])
    return latest.status != RESOLVED


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class QueueReader:
    """Reads conversations' queue entries, with the queue created on first use.

    Args:
        open_queue: Builds the queue (``frontline.handoff.queue.create_from_settings``).
        simulated_clock: Date the entries of demo conversations back like their events
            (:mod:`frontline.outcomes.simulated_clock`).
    """

    def __init__(
        self, open_queue: Callable[[], HandoffQueue], simulated_clock: bool = False
    ) -> None:
        self._open_queue = open_queue
        self._queue: HandoffQueue | None = None
        self.simulated_clock = simulated_clock

    def entries(self, conversation_id: str) -> list[QueueEntry] | None:
        """The conversation's entries; None when the queue cannot be read now."""
        try:
            if self._queue is None:
                self._queue = self._open_queue()
            entries = self._queue.find_by_conversation(conversation_id)
        except QueueError as exc:
            logger.warning("Handoff queue unreadable for outcome %s: %s", conversation_id, exc)
            return None
        return shift_entries(conversation_id, entries) if self.simulated_clock else entries

    def close(self) -> None:
        if self._queue is not None:
            self._queue.close()
            self._queue = None

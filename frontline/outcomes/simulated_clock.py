"""A demo's clock: contacts held over the running stack today, dated days back.

``make demo-traffic`` shows a week of contacts (repeat contacts days apart, outcomes
over time) in a few minutes. Rasa stamps every event with the current time, so the
outcome writer moves the events of a *simulated* conversation back instead: one whose
id on its channel starts ``SIM<N>D`` (any case: ``rest:SIM3D-4f2a…``,
``slack:SIM3DU0DEMO…_D0…``, as Slack's ids are upper-case letters and digits) is dated
``N`` days earlier, and so are its handoff queue entries (so the person's side
still matches the contact). Everything else about the contact is as folded.

This is a seam for demos and tests only: it acts only with the setting
``FRONTLINE_SIMULATED_CLOCK=1`` (``make run`` sets it for the local stack; nothing
else does), so in production a customer cannot date their own contact.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from frontline.handoff.base import QueueEntry

DAY_SECONDS = 86_400.0
#: Longest a demo reaches back (the report's longest default range).
MAX_DAYS = 90
_SIMULATED = re.compile(r"^(?:[a-z]+:)?SIM(\d{1,2})D", re.IGNORECASE)
_ENTRY_TIMES = ("enqueued_at", "claimed_at", "resolved_at", "first_claimed_at", "lease_expires_at")


def days_back(conversation_id: str) -> int:
    """How many days back a conversation is dated (0 for any ordinary one)."""
    match = _SIMULATED.match(conversation_id or "")
    return min(int(match.group(1)), MAX_DAYS) if match else 0


def simulated_id(days: int, rest: str) -> str:
    """The id a demo gives a conversation on its channel to date it ``days`` back."""
    if not 0 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 0..{MAX_DAYS}")
    return f"SIM{days}D{rest}"


def shift_events(
    conversation_id: str, events: Iterable[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The events with their timestamps moved back (the same objects if not simulated)."""
    offset = days_back(conversation_id) * DAY_SECONDS
    if not offset:
        return list(events)
    shifted = []
    for event in events:
        stamp = event.get("timestamp")
        if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
            event = {**event, "timestamp": float(stamp) - offset}
        shifted.append(event)
    return shifted


def shift_entries(conversation_id: str, entries: Sequence[QueueEntry]) -> list[QueueEntry]:
    """The queue entries with their times moved back like the conversation's events."""
    days = days_back(conversation_id)
    if not days:
        return list(entries)
    delta = timedelta(days=days)
    return [
        dataclasses.replace(
            entry,
            **{
                name: getattr(entry, name) - delta
                for name in _ENTRY_TIMES
                if getattr(entry, name, None) is not None
            },
        )
        for entry in entries
    ]

"""How much of the conversation travels to the action server with each action call.

Rasa 3.6 sends the whole tracker, every event since the conversation began, with every
call to a custom action and every form validation. In a long conversation that is most
of the request: encoding it was 14% of the Rasa server's time at turn 200 and parsing it
made the action server's CPU per turn grow eightfold (``docs/notes/issue-7.md``).

Our actions look back only a few turns (the confirmation a write depends on, the
fallbacks in a row, the slot value before the latest message) and otherwise read slots.
So an action receives:

* the events of the last ``history_turns`` customer messages (from the earliest of those
  messages on), preceded by
* the compacted earlier part of the session: its start (``session_started`` or
  ``restart``, else the first event) and the latest ``slot`` event of each slot set
  before the window, in their order.

Everything an action computes from events stays the same as long as it looks back at
most ``history_turns`` messages: slot histories, the session start, consent and fallback
counting. Actions that must see everything (the handoff's transcript and decision
history for the human) are listed in ``full_history_actions`` and get the whole tracker.
Both are set on the action endpoint in ``endpoints.yml``; without ``history_turns`` Rasa
behaves as it always did. :func:`install` is called by ``frontline.rasa_server``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rasa
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, Restarted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

HISTORY_TURNS_KEY = "history_turns"
FULL_HISTORY_ACTIONS_KEY = "full_history_actions"

_original_action_call_format = RemoteAction._action_call_format


def events_for_action(events: Sequence[Event], turns: int) -> list[Event]:
    """The events an action gets: the last ``turns`` messages and the compacted rest.

    Args:
        events: All of the tracker's events, oldest first.
        turns: How many of the customer's latest messages to keep in full (at least 1).
    """
    events = list(events)  # a tracker's deque is slow to index in the middle
    window_start = len(events)
    seen = 0
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            seen += 1
            window_start = index
            if seen == turns:
                break
    if seen < turns:
        return list(events)
    # Walk back from the window to the session's start: keep the start and the latest
    # value of each slot.
    earlier: list[Event] = []
    slots_seen: set[str] = set()
    start_found = False
    for index in range(window_start - 1, -1, -1):
        event = events[index]
        if isinstance(event, (SessionStarted, Restarted)):
            earlier.append(event)
            start_found = True
            break
        if isinstance(event, SlotSet) and event.key not in slots_seen:
            slots_seen.add(event.key)
            earlier.append(event)
    if not start_found and not (earlier and earlier[-1] is events[0]):
        earlier.append(events[0])  # the conversation's first timestamp
    earlier.reverse()
    return earlier + [events[index] for index in range(window_start, len(events))]


def _settings(action: RemoteAction) -> tuple[int | None, frozenset[str]]:
    kwargs: dict[str, Any] = action.action_endpoint.kwargs if action.action_endpoint else {}
    turns = kwargs.get(HISTORY_TURNS_KEY)
    full = frozenset(kwargs.get(FULL_HISTORY_ACTIONS_KEY) or ())
    return (int(turns) if turns else None), full


def windowed_action_call_format(
    self: RemoteAction, tracker: DialogueStateTracker, domain: Domain
) -> dict[str, Any]:
    """``RemoteAction._action_call_format`` sending :func:`events_for_action` only."""
    turns, full_history = _settings(self)
    if turns is None or self.name() in full_history:
        return _original_action_call_format(self, tracker, domain)
    tracker_state = tracker.current_state(EventVerbosity.NONE)
    tracker_state["events"] = [
        event.as_dict() for event in events_for_action(tracker.events, turns)
    ]
    result: dict[str, Any] = {
        "next_action": self.name(),
        "sender_id": tracker.sender_id,
        "tracker": tracker_state,
        "version": rasa.__version__,
    }
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(
        self.name()
    ):
        result["domain"] = domain.as_dict()
    return result


def install() -> None:
    """Makes Rasa send actions the windowed history configured on the action endpoint."""
    RemoteAction._action_call_format = windowed_action_call_format  # type: ignore[method-assign]


def uninstall() -> None:
    """Restores Rasa's own request format (tests)."""
    RemoteAction._action_call_format = _original_action_call_format  # type: ignore[method-assign]

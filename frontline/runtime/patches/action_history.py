"""How much of the conversation travels to the action server with each action call.

Why a patch: Rasa 3.6 sends the whole tracker, every event since the conversation
began, with every call to a custom action and every form validation. In a long
conversation that is most of the request: encoding it was 14% of the Rasa server's time
at turn 200 and parsing it made the action server's CPU per turn grow eightfold. The
request is built by
``RemoteAction._action_call_format``; Rasa's only option there is the selective domain,
and custom actions are not Rasa components that could be swapped, so that method is
replaced by :func:`windowed_action_call_format`, configured on the action endpoint.

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
behaves as it always did. The action server (rasa-sdk) rebuilds its ``Tracker`` from the
events it receives, so the SDK's version matters too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import rasa
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, Restarted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from frontline.runtime.patch import Patch

HISTORY_TURNS_KEY = "history_turns"
FULL_HISTORY_ACTIONS_KEY = "full_history_actions"

_original_action_call_format = RemoteAction._action_call_format


class SessionIndex:
    """What precedes a point of one conversation: its start and each slot's latest event.

    Built by scanning the events once and extended by the events added since, so a long
    conversation's compacted history costs the new events, not the whole conversation,
    on every action call. It belongs to the event sequence it was built from: the
    first and last scanned events are kept and checked by identity (a tracker's copies
    share the same event objects; a tracker reloaded from the database does not).
    """

    __slots__ = ("first", "last", "scanned", "start", "latest_slot")

    def __init__(self) -> None:
        self.first: Event | None = None
        self.last: Event | None = None
        self.scanned = 0
        self.start: int | None = None  # index of the latest session start or restart
        self.latest_slot: dict[str, int] = {}  # slot -> index of its latest event since

    def fits(self, events: Sequence[Event], upto: int) -> bool:
        """Whether this index describes a prefix of ``events`` no longer than ``upto``."""
        return (
            0 < self.scanned <= upto
            and events[0] is self.first
            and events[self.scanned - 1] is self.last
        )

    def extend(self, events: Sequence[Event], upto: int) -> None:
        """Folds ``events[self.scanned:upto]`` into the index."""
        for index in range(self.scanned, upto):
            event = events[index]
            if isinstance(event, (SessionStarted, Restarted)):
                self.start = index
                self.latest_slot = {}
            elif isinstance(event, SlotSet):
                self.latest_slot.pop(event.key, None)  # keeps the dict in index order
                self.latest_slot[event.key] = index
        if upto > 0:
            self.first, self.last, self.scanned = events[0], events[upto - 1], upto

    def compacted(self, events: Sequence[Event]) -> list[Event]:
        """The session's start (else the first event) and each slot's latest event."""
        positions = list(self.latest_slot.values())
        if self.start is not None:
            positions.insert(0, self.start)
        elif not positions or positions[0] != 0:
            positions.insert(0, 0)  # the conversation's first timestamp
        return [events[index] for index in positions]


class SessionIndexes:
    """The :class:`SessionIndex` of recent conversations, by sender, least recent dropped."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._indexes: OrderedDict[str, SessionIndex] = OrderedDict()

    def up_to(self, sender_id: str, events: Sequence[Event], upto: int) -> SessionIndex:
        """The index of ``events[:upto]``, extended from the sender's last one if it fits."""
        index = self._indexes.pop(sender_id, None)
        if index is None or not index.fits(events, upto):
            index = SessionIndex()
        index.extend(events, upto)
        self._indexes[sender_id] = index
        while len(self._indexes) > self.capacity:
            self._indexes.popitem(last=False)
        return index


_SESSION_INDEXES = SessionIndexes()


def events_for_action(
    events: Sequence[Event],
    turns: int,
    sender_id: str | None = None,
    indexes: SessionIndexes | None = None,
) -> list[Event]:
    """The events an action gets: the last ``turns`` messages and the compacted rest.

    Args:
        events: All of the tracker's events, oldest first.
        turns: How many of the customer's latest messages to keep in full (at least 1).
        sender_id: The conversation, to reuse what was scanned for its previous calls
            (``indexes``); without it the events before the window are scanned again.
        indexes: Where the conversations' indexes are kept (default: this process's).
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
    if sender_id is None:
        session = SessionIndex()
        session.extend(events, window_start)
    else:
        session = (indexes or _SESSION_INDEXES).up_to(sender_id, events, window_start)
    return session.compacted(events) + events[window_start:]


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
        event.as_dict()
        for event in events_for_action(tracker.events, turns, sender_id=tracker.sender_id)
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


PATCH = Patch(
    name="action_history",
    reason=__doc__,
    guarded_by={
        "tests/runtime/test_action_history.py": (
            "test_our_readers_of_events_see_the_same_in_the_window",
            "test_the_index_kept_between_calls_gives_what_a_fresh_scan_gives",
            "test_the_request_carries_the_window_and_the_handoff_the_whole_tracker",
        ),
    },
    versions={"rasa": "3.6.21", "rasa-sdk": "3.6.2"},
    replacements={
        "rasa.core.actions.action:RemoteAction._action_call_format": windowed_action_call_format,
    },
)

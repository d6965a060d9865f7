"""What travels to the action server (patches/action_history.py).

The windowed history must give our actions the same answers as the whole tracker: the
test grows long conversations out of every story of our data and, after each event,
compares what each reader of events computes from both.
"""

from __future__ import annotations

import random

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk import Tracker

from actions.verification import value_before_latest_message
from frontline.policy import policies
from frontline.runtime.patches.action_history import (
    SessionIndexes,
    events_for_action,
    windowed_action_call_format,
)
from frontline.services.contacts import session_started_at
from frontline.services.fallback import consecutive_fallbacks, is_dialogue_fallback
from frontline.services.guardrails import consent_from_events
from tests.support.stories import story_events

TURNS = 3  # smaller than production's, to put the window's edge everywhere


def user(text: str, intent: str = "inform") -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 0.99})


@pytest.fixture(scope="module")
def long_conversations(domain: Domain) -> list[list[Event]]:
    """Our stories, rules and test stories, eight at a time back to back."""
    stories = story_events(domain)
    joined = []
    for start in range(0, len(stories), 8):
        events: list[Event] = []
        for story in stories[start : start + 8]:
            events += [e for e in story if not isinstance(e, (SessionStarted, Restarted))]
        joined.append([ActionExecuted("action_session_start"), SessionStarted(), *events])
    return joined


def test_keeps_the_last_messages_and_compacts_the_rest():
    events = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        SlotSet("email", "a@example.com"),
        user("one"),
        SlotSet("order_id", "111111"),
        BotUttered("ok"),
        SlotSet("order_id", "222222"),
        user("two"),
        BotUttered("sure"),
        user("three"),
        SlotSet("email", "b@example.com"),
    ]
    window = events_for_action(events, 2)
    assert window == [
        events[1],  # the session's start
        events[2],  # the latest e-mail before the window
        events[6],  # the latest order number before the window
        *events[7:],
    ]
    assert [e for e in window if isinstance(e, SlotSet) and e.key == "order_id"] == [events[6]]


def test_short_conversations_travel_whole():
    events = [SessionStarted(), user("one"), BotUttered("hi"), user("two")]
    assert events_for_action(events, 2) == events
    assert events_for_action(events, 5) == events


def test_without_a_session_start_the_first_event_keeps_the_first_timestamp():
    events = [ActionExecuted("action_listen"), user("one"), SlotSet("email", "x"), user("two")]
    assert events_for_action(events, 1) == [events[0], events[2], events[3]]


def test_a_restart_starts_the_compacted_part():
    events = [SlotSet("email", "old"), Restarted(), user("one"), user("two")]
    assert events_for_action(events, 1) == [events[1], events[3]]


def _readers(events: list[dict], domain: Domain) -> dict:
    tracker = Tracker.from_dict({"sender_id": "s", "events": events, "slots": {}})
    latest = next((e for e in reversed(events) if e["event"] == "user"), None)
    latest_message = (latest or {}).get("parse_data") or {}
    consent = policies().consent
    return {
        "session_started_at": session_started_at(events),
        "fallbacks": consecutive_fallbacks(events),
        "dialogue_fallback": is_dialogue_fallback(latest_message, events),
        "value_before": {
            slot: value_before_latest_message(tracker, slot)
            for slot in ("order_id", "email", "account_new_value")
        },
        "consent": {
            operation: consent_from_events(events, operation, None, policy=consent)
            for operation in consent.operations
        },
    }


def test_our_readers_of_events_see_the_same_in_the_window(domain, long_conversations):
    checked = 0
    for events in long_conversations:
        tracker = DialogueStateTracker("s", domain.slots)
        for event in events:
            tracker.update(event)
            if not isinstance(event, UserUttered):
                continue  # actions run after a message; check each turn once
            full = [e.as_dict() for e in tracker.events]
            window = [e.as_dict() for e in events_for_action(tracker.events, TURNS)]
            assert _readers(window, domain) == _readers(full, domain)
            checked += 1
    assert checked > 150


def test_the_index_kept_between_calls_gives_what_a_fresh_scan_gives(domain, long_conversations):
    indexes = SessionIndexes(capacity=2)
    rng = random.Random(3)
    checked = 0
    for number, events in enumerate(long_conversations):
        tracker = DialogueStateTracker(f"s{number}", domain.slots)
        for event in events:
            tracker.update(event)
            if rng.random() < 0.05:
                tracker.update(Restarted() if rng.random() < 0.5 else SessionStarted())
            # Copies share the events (as before each action); a tracker rebuilt from its
            # events (as from the database) does not, and must not reuse the index.
            source = tracker.copy() if rng.random() < 0.5 else tracker
            if rng.random() < 0.05:
                source = DialogueStateTracker.from_events(
                    source.sender_id, [Event.from_parameters(e.as_dict()) for e in source.events]
                )
            expected = events_for_action(source.events, TURNS)
            assert events_for_action(source.events, TURNS, source.sender_id, indexes) == expected
            checked += 1
    assert checked > 1000


def test_the_index_follows_the_conversation_and_forgets_the_least_recent():
    indexes = SessionIndexes(capacity=1)
    events = [SessionStarted(), SlotSet("a", 1), user("x"), SlotSet("a", 2), user("y")]
    assert events_for_action(events, 1, "s", indexes) == [events[0], events[3], events[4]]
    index = indexes.up_to("s", events, 4)
    assert (index.scanned, index.start, index.latest_slot) == (4, 0, {"a": 3})
    events += [SlotSet("b", 3), user("z")]
    assert events_for_action(events, 1, "s", indexes) == [events[0], events[3], *events[5:]]
    assert indexes.up_to("s", events, 6).scanned == 6  # extended, not rescanned
    indexes.up_to("t", events, 2)
    assert list(indexes._indexes) == ["t"]


def _remote_action(name: str, **endpoint_options) -> RemoteAction:
    return RemoteAction(name, EndpointConfig("http://localhost:5055/webhook", **endpoint_options))


def test_the_request_carries_the_window_and_the_handoff_the_whole_tracker(domain):
    tracker = DialogueStateTracker("s", domain.slots)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    for index in range(30):
        tracker.update(user(f"message {index}"))
        tracker.update(BotUttered(f"answer {index}"))
    options = {"history_turns": 4, "full_history_actions": ["action_handoff"]}

    payload = windowed_action_call_format(
        _remote_action("action_order_status", **options), tracker, domain
    )
    texts = [e.get("text") for e in payload["tracker"]["events"] if e["event"] == "user"]
    assert texts == [f"message {index}" for index in range(26, 30)]
    assert payload["tracker"]["slots"] == tracker.current_state()["slots"]
    assert payload["next_action"] == "action_order_status" and "domain" in payload

    handoff = windowed_action_call_format(
        _remote_action("action_handoff", **options), tracker, domain
    )
    assert len(handoff["tracker"]["events"]) == len(tracker.events)

    unconfigured = windowed_action_call_format(
        _remote_action("action_order_status"), tracker, domain
    )
    assert unconfigured["tracker"] == tracker.current_state(EventVerbosity.ALL)

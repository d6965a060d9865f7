"""The compiled check of action responses decides as jsonschema does.

``frontline/runtime/fast_schema_check.py`` checks only the alternative of Rasa's event ``oneOf``
that an event names; these tests hold it to jsonschema's verdict on every event type the
SDK produces, on hand-made invalid responses, and on thousands of random mutations.
"""

from __future__ import annotations

import copy
import datetime
import random
from typing import Any

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa_sdk import events as sdk_events

from frontline.runtime.fast_schema_check import compile_action_response_check, compile_check

SCHEMA = RemoteAction.action_response_format_spec()
JSONSCHEMA = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
CHECK = compile_action_response_check(SCHEMA)

NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.timezone.utc)
SDK_EVENTS: list[dict[str, Any]] = [
    sdk_events.SlotSet("order_id", "A1234"),
    sdk_events.SlotSet("requested_slot", None, timestamp=1.5),
    sdk_events.AllSlotsReset(),
    sdk_events.ReminderScheduled("EXTERNAL_reminder", NOW, name="r", entities={"a": 1}),
    sdk_events.ReminderCancelled(name="r"),
    sdk_events.ConversationPaused(),
    sdk_events.ConversationResumed(),
    sdk_events.StoryExported(),
    sdk_events.FollowupAction("utter_greet"),
    sdk_events.UserUtteranceReverted(),
    sdk_events.ActionReverted(),
    sdk_events.Restarted(),
    sdk_events.SessionStarted(),
    sdk_events.UserUttered(
        "where is A1234",
        parse_data={
            "intent": {"name": "order_status", "confidence": 0.9},
            "entities": [{"entity": "order_id", "value": "A1234", "start": 9, "end": 14}],
        },
    ),
    sdk_events.BotUttered("Hello", {"buttons": []}, {"utter_action": "utter_greet"}),
    sdk_events.ActionExecuted("action_check_order_status", policy="RulePolicy", confidence=1),
    sdk_events.AgentUttered("hi"),
    sdk_events.ActiveLoop("cancel_order_form"),
    sdk_events.ActiveLoop(None),
    sdk_events.LoopInterrupted(True),
    sdk_events.ActionExecutionRejected("action_x"),
    sdk_events.FormValidation(False),
]
RESPONSES = [{"text": "Your order is on its way.", "buttons": [], "template": "utter_x"}]


def _verdicts(instance: Any) -> tuple[bool, bool]:
    assert CHECK is not None
    return CHECK(instance), JSONSCHEMA.is_valid(instance)


def test_rasas_action_response_schema_gets_the_fast_check():
    assert CHECK is not None


@pytest.mark.parametrize("event", SDK_EVENTS, ids=lambda event: event["event"])
def test_every_event_the_sdk_makes_is_valid_for_both(event):
    assert _verdicts({"events": [event], "responses": RESPONSES}) == (True, True)


@pytest.mark.parametrize(
    "instance",
    [
        {},
        {"events": []},
        {"events": [], "responses": []},
        {"events": None},
        {"events": "slot"},
        {"events": [{}]},
        {"events": [{"event": "no_such_event"}]},
        {"events": [{"event": None}]},
        {"events": [{"event": 3}]},
        {"events": [["slot"]]},
        {"events": ["slot"]},
        {"events": [{"event": "slot", "name": "x"}]},  # SlotSet needs a value
        {"events": [{"event": "slot", "name": 3, "value": 1}]},
        {"events": [{"event": "slot", "name": "x", "value": 1, "timestamp": "now"}]},
        {"events": [{"event": "action", "name": 3}]},
        {"events": [{"event": "user", "parse_data": {"entities": [{"entity": "x"}]}}]},
        {"events": [{"event": "user", "parse_data": {"response_selector": {"a": 1}}}]},
        {"events": [{"event": "entities", "entities": []}]},
        {"events": [{"event": "entities"}]},
        {"responses": [1]},
        {"responses": {"text": "hi"}},
        [],
        "events",
        None,
    ],
)
def test_hand_made_responses_get_jsonschemas_verdict(instance):
    fast, expected = _verdicts(instance)
    assert fast == expected


def _random_value(rng: random.Random) -> Any:
    return rng.choice(
        [None, True, 0, 1.5, -3, "", "slot", "user", "x", [], [1], {}, {"event": "slot"}]
    )


def _mutate(value: Any, rng: random.Random) -> Any:
    """Changes, adds or removes one thing somewhere inside ``value``."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(sorted(value))
        choice = rng.random()
        if choice < 0.2:
            del value[key]
        elif choice < 0.5:
            value[key] = _random_value(rng)
        else:
            value[key] = _mutate(value[key], rng)
        return value
    if isinstance(value, list) and value and rng.random() < 0.7:
        index = rng.randrange(len(value))
        value[index] = _mutate(value[index], rng)
        return value
    if isinstance(value, dict) and rng.random() < 0.5:
        value[rng.choice(["event", "name", "value", "timestamp", "extra"])] = _random_value(rng)
        return value
    return _random_value(rng)


def test_random_mutations_of_valid_responses_get_jsonschemas_verdict():
    rng = random.Random(20261124)
    verdicts = {True: 0, False: 0}
    for _ in range(3000):
        events = copy.deepcopy(rng.sample(SDK_EVENTS, rng.randint(1, 4)))
        instance = _mutate({"events": events, "responses": copy.deepcopy(RESPONSES)}, rng)
        fast, expected = _verdicts(instance)
        assert fast == expected, instance
        verdicts[expected] += 1
    # Both verdicts were exercised plenty.
    assert min(verdicts.values()) > 500, verdicts


def test_other_schemas_are_compiled_as_they_are():
    check = compile_check({"type": "object", "required": ["a"]})
    assert check is not None
    assert check({"a": 1})
    assert not check({"b": 1})

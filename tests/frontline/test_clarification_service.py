"""The "Did you mean …?" offer: labels from the policy, payloads with the entities."""

from __future__ import annotations

import json
import re
from pathlib import Path

from frontline.nlu.clarification_policy import load_clarification_policy
from frontline.services.clarification import (
    Button,
    clarification_offer,
    entity_values,
    intent_payload,
)

POLICY = load_clarification_policy(Path(__file__).resolve().parents[2] / "policies")
# Rasa's own pattern for "/intent{entities}" messages (rasa.shared.nlu.interpreter).
PAYLOAD = re.compile(r"^/(?P<intent>[^{@]+)(?P<prob>@[0-9.]+)?(?P<entities>{.+})?(?P<rest>.*)")


def parse(options, entities=()):
    return {
        "intent": {"name": "nlu_clarify", "confidence": 0.5},
        "entities": list(entities),
        "clarification": {"options": [{"intent": o, "confidence": 0.4} for o in options]},
    }


def test_buttons_are_the_options_labels_then_something_else():
    offer = clarification_offer(parse(["request_return", "check_order_status"]), POLICY)
    assert offer.options == ("request_return", "check_order_status")
    assert offer.buttons == (
        Button("Return an item or get a refund", "/request_return"),
        Button("Check an order's status", "/check_order_status"),
        Button("Something else", "/nlu_fallback"),
    )


def test_entities_travel_in_the_payload_and_read_back_as_rasa_reads_them():
    entities = [
        {"entity": "order_id", "value": "482914"},
        {"entity": "email", "value": 'j"doe@example.com'},  # quoted safely
        {"entity": "order_id", "value": "482915"},
        {"entity": "order_id", "value": "482914"},  # the same value twice: once
    ]
    offer = clarification_offer(parse(["cancel_order"], entities), POLICY)
    match = PAYLOAD.match(offer.buttons[0].payload)
    assert match["intent"] == "cancel_order" and match["rest"] == ""
    assert json.loads(match["entities"]) == {
        "email": 'j"doe@example.com',
        "order_id": ["482914", "482915"],
    }


def test_what_the_policy_does_not_offer_is_dropped_and_nothing_left_is_no_offer():
    assert clarification_offer(parse(["greet", "faq"]), POLICY) is None
    assert clarification_offer({"intent": {"name": "nlu_clarify"}}, POLICY) is None
    offer = clarification_offer(
        parse(["cancel_order", "cancel_order", "reset_password", "change_email"]), POLICY
    )
    assert offer.options == ("cancel_order", "reset_password")  # max_options: 2


def test_helpers():
    assert entity_values([{"entity": "zip_code", "value": "94107"}]) == {"zip_code": "94107"}
    assert entity_values([{"entity": "x"}, {"value": "y"}]) == {}
    assert intent_payload("greet", {}) == "/greet"

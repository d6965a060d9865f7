"""Two-stage fallback counting and the escalation policy's answers."""

from __future__ import annotations

from frontline.policy import escalation_policy
from frontline.services.fallback import (
    FallbackStep,
    consecutive_fallbacks,
    is_dialogue_fallback,
    next_fallback_step,
)


def user(intent: str) -> dict:
    return {"event": "user", "parse_data": {"intent": {"name": intent}}}


def action(name: str) -> dict:
    return {"event": "action", "name": name}


def test_first_fallback_asks_to_rephrase():
    events = [action("action_listen"), user("nlu_fallback")]
    assert consecutive_fallbacks(events) == 1
    assert next_fallback_step(events, escalation_policy()) is FallbackStep.REPHRASE


def test_second_in_a_row_offers_a_human_even_if_a_form_asked_again_in_between():
    events = [
        user("check_order_status"),
        action("order_status_form"),
        user("nlu_fallback"),
        action("action_fallback"),
        action("order_status_form"),
        action("action_listen"),
        user("nlu_fallback"),
    ]
    assert next_fallback_step(events, escalation_policy()) is FallbackStep.OFFER_HUMAN


def test_third_in_a_row_hands_off():
    events = []
    for _ in range(2):
        events += [user("nlu_fallback"), action("action_fallback"), action("action_listen")]
    events.append(user("nlu_fallback"))
    assert next_fallback_step(events, escalation_policy()) is FallbackStep.HAND_OFF


def test_an_understood_message_resets_the_count():
    events = [user("nlu_fallback"), action("action_fallback"), user("greet"), action("utter_greet")]
    events.append(user("nlu_fallback"))
    assert consecutive_fallbacks(events) == 1


def test_priority_is_raised_for_boosted_tiers():
    policy = escalation_policy()
    assert policy.priority("customer_request", "bronze") == "normal"
    assert policy.priority("customer_request", "gold") == "high"
    assert policy.priority("backend_error", "gold") == "urgent"
    assert policy.max_verification_attempts == 3


def test_a_fallback_for_an_understood_message_is_the_dialogues():
    message = {"intent": {"name": "check_order_status"}}
    assert is_dialogue_fallback(message, [user("check_order_status")])


def test_a_fallback_for_a_message_nlu_did_not_understand_is_nlus_the_first_time():
    message = {"intent": {"name": "nlu_fallback"}}
    assert not is_dialogue_fallback(message, [action("action_listen"), user("nlu_fallback")])
    again = [user("nlu_fallback"), action("action_fallback")]
    assert is_dialogue_fallback(message, again)
    # A fallback of an earlier message does not count.
    earlier = [user("nlu_fallback"), action("action_fallback"), user("nlu_fallback")]
    assert not is_dialogue_fallback(message, earlier)

"""The check before every write: verification, consent, scope, order state, money limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from frontline.policy.registry import load_policies
from frontline.services.guardrails import (
    Consent,
    WriteContext,
    authorize_write,
    consent_from_events,
)
from tests.policy.conftest import POLICIES, add_gold_concierge, edit_policy

RULES = load_policies(POLICIES)
YES = Consent(True, "the customer said yes to this very change")


def question(order_id: str) -> dict:
    return {
        "event": "bot",
        "text": f"Please confirm: cancel order {order_id}?",
        "metadata": {"utter_action": "utter_ask_cancel_confirmed", "order_id": order_id},
    }


def answer(intent: str, confidence: float = 0.98, text: str = "yes") -> dict:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": confidence}},
    }


def consent(*events: dict, order_id: str = "482916") -> Consent:
    return consent_from_events(list(events), "cancel_order", order_id, policy=RULES.consent)


def allow(**overrides) -> dict:
    arguments = {
        "verified": True,
        "consent": YES,
        "amount": "99.00",
        "currency": "USD",
        "order_state": "placed",
        "tier": "gold",
        "channel": "rest",
        "rules": RULES,
    }
    return arguments | overrides


# -- consent -------------------------------------------------------------------------


def test_a_yes_to_the_question_about_this_order_is_consent():
    evidence = consent(
        answer("cancel_order", text="cancel 482916"), question("482916"), answer("affirm")
    )
    assert evidence.given and evidence.turns_ago == 0 and evidence.subject == "482916"


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ([answer("cancel_order")], "never asked"),
        ([question("482916")], "not answered the confirmation question yet"),
        ([question("482916"), answer("deny", text="no")], "answered 'deny', not a yes"),
        ([question("482916"), answer("affirm", 0.4)], "confidence 0.40, below 0.60"),
        ([question("482914"), answer("affirm")], "the yes was for 482914, not 482916"),
        (
            [question("482916"), answer("affirm"), answer("greet", text="hi"), answer("thank")],
            "given 2 messages ago, more than the 1 allowed",
        ),
        ([question("482916"), answer("affirm"), {"event": "restart"}], "never asked"),
        (
            [question("482916"), answer("affirm"), question("482916"), answer("deny")],
            "answered 'deny'",
        ),
    ],
)
def test_what_is_not_consent(events, reason):
    evidence = consent(*events)
    assert not evidence.given
    assert reason in evidence.reason


def test_the_subject_comes_from_the_slot_when_the_question_has_no_variable():
    events = [
        {"event": "slot", "name": "order_id", "value": "482916"},
        {"event": "bot", "metadata": {"utter_action": "utter_ask_cancel_confirmed"}},
        answer("affirm"),
    ]
    assert consent(*events).given


# -- the write -------------------------------------------------------------------


def test_a_verified_confirmed_small_cancellation_is_allowed():
    decision = authorize_write("cancel_order", **allow())
    assert decision.allowed and decision.rule_id is None
    assert [c.name for c in decision.checks] == [
        "declared",
        "verified",
        "consent",
        "scope",
        "order_state",
        "money_limit",
    ]
    assert decision.policy_versions == RULES.versions


@pytest.mark.parametrize(
    ("overrides", "rule_id", "policy", "words"),
    [
        (
            {"verified": False},
            "escalation.writes.cancel_order.verification",
            "escalation",
            "verified",
        ),
        ({"consent": None}, "consent.cancel_order", "consent", "no consent was found"),
        (
            {"consent": Consent(False, "the yes was for 482914, not 482916")},
            "consent.cancel_order",
            "consent",
            "the yes was for 482914",
        ),
        (
            {"order_state": "shipped"},
            "escalation.writes.cancel_order.order_state",
            "escalation",
            "shipped",
        ),
        (
            {"amount": "250.01"},
            "escalation.writes.cancel_order.money_limit",
            "escalation",
            "$250.01 is above the $250.00",
        ),
        (
            {"currency": "EUR"},
            "escalation.writes.cancel_order.money_limit",
            "escalation",
            "not in USD",
        ),
        ({"amount": None}, "escalation.writes.cancel_order.money_limit", "escalation", "unknown"),
    ],
)
def test_each_refusal_names_its_rule(overrides, rule_id, policy, words):
    decision = authorize_write("cancel_order", **allow(**overrides))
    assert not decision.allowed
    assert (decision.rule_id, decision.policy) == (rule_id, policy)
    assert decision.policy_version == RULES.versions[policy]
    assert words in decision.rationale
    rule = decision.escalation_rule()
    assert rule.rule_id == rule_id and rule.rationale == decision.rationale


def test_the_limit_itself_is_allowed():
    assert authorize_write("cancel_order", **allow(amount=Decimal("250.00"))).allowed


def test_an_undeclared_write_is_refused():
    decision = authorize_write("wire_money_abroad", **allow())
    assert decision.rule_id == "escalation.writes.undeclared"


def test_a_replayed_cancellation_of_a_cancelled_order_is_allowed():
    # The order system replays its first answer (idempotency key); nothing new is written.
    assert authorize_write("cancel_order", **allow(order_state="cancelled")).allowed


# -- changing a policy file changes behaviour, no code change --------------------


def test_lowering_the_money_limit_turns_an_automatic_cancel_into_an_escalation(policies_copy):
    assert authorize_write("cancel_order", **allow(amount="59.90")).allowed
    edit_policy(
        policies_copy,
        "escalation",
        lambda d: d["rules"]["writes"]["cancel_order"]["money_limit"].update(amount="50.00"),
    )
    decision = authorize_write(
        "cancel_order", **allow(amount="59.90", rules=load_policies(policies_copy))
    )
    assert decision.rule_id == "escalation.writes.cancel_order.money_limit"
    assert "$59.90 is above the $50.00" in decision.rationale


def test_a_tier_restriction_refuses_the_write_for_that_tier(policies_copy):
    add_gold_concierge(policies_copy)
    rules = load_policies(policies_copy)
    assert authorize_write("cancel_order", **allow(tier="gold", rules=rules)).rule_id == (
        "scope.gold_concierge"
    )
    assert authorize_write("cancel_order", **allow(tier="silver", rules=rules)).allowed


def test_removing_an_intent_from_self_service_refuses_its_writes(policies_copy):
    edit_policy(policies_copy, "scope", lambda d: d["rules"]["self_service"].remove("cancel_order"))
    decision = authorize_write("cancel_order", **allow(rules=load_policies(policies_copy)))
    assert decision.rule_id == "scope.not_self_service"


def test_a_longer_consent_window_accepts_an_older_yes(policies_copy):
    events = [question("482916"), answer("affirm"), answer("greet", text="hi"), answer("thank")]
    assert not consent(*events).given
    edit_policy(
        policies_copy,
        "consent",
        lambda d: d["rules"]["operations"]["cancel_order"].update(max_turns=3),
    )
    changed = load_policies(policies_copy).consent
    assert consent_from_events(events, "cancel_order", "482916", policy=changed).given


def test_write_context_from_a_tracker_state():
    state = {
        "sender_id": "c9",
        "slots": {"customer_verified": True, "customer_id": "C1001"},
        "latest_input_channel": "slack",
        "events": [question("1"), answer("affirm")],
    }
    context = WriteContext.from_conversation(state, "C1001")
    assert (context.conversation_id, context.channel, context.verified) == ("c9", "slack", True)
    assert context.customer_id == "C1001"
    assert len(context.events) == 2
    # The posted slots are a claim: only the identity store's answer verifies.
    assert not WriteContext.from_conversation(state, None).verified


def test_the_subject_may_be_set_by_the_asking_action_after_its_message():
    # The asking action's own events follow its message: the slot counts when answered.
    events = [
        {"event": "bot", "metadata": {"utter_action": "utter_ask_cancel_confirmed"}},
        {"event": "slot", "name": "order_id", "value": "482916"},
        answer("affirm"),
    ]
    assert consent(*events).given

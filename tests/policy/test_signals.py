"""Escalation signals from the policy files: sensitive topics, scope, frustration."""

from __future__ import annotations

import random

import pytest

from frontline.dialogue.signals import (
    UserTurn,
    assess,
    frustration,
    message_score,
    recent_user_turns,
    user_turns,
)
from frontline.policy.registry import load_policies
from tests.policy.conftest import POLICIES, add_gold_concierge, edit_policy

RULES = load_policies(POLICIES)


def turns(*messages: str | tuple[str, str]) -> list[UserTurn]:
    result = []
    for message in messages:
        text, intent = message if isinstance(message, tuple) else (message, "inform")
        result.append(UserTurn(text, intent, 0.9))
    return result


def fired(*messages, channel: str = "rest", tier: str | None = None, rules=RULES) -> str | None:
    assessment = assess(turns(*messages), channel=channel, tier=tier, policies=rules)
    return assessment.rule.rule_id if assessment.rule else None


@pytest.mark.parametrize(
    ("text", "rule_id"),
    [
        ("If this isn't fixed I'm going to sue", "sensitive.legal_threat"),
        ("my LAWYER will hear about this", "sensitive.legal_threat"),
        ("I'll take this to small claims court", "sensitive.legal_threat"),
        ("someone used my card, I never ordered this", "sensitive.fraud"),
        ("I did not authorise this payment", "sensitive.fraud"),
        ("I'm going to file a chargeback", "sensitive.chargeback"),
        ("I'll just call my bank and reverse the charge", "sensitive.chargeback"),
        ("honestly I want to end my life", "sensitive.self_harm"),
        ("where is my order 482913", None),
        ("there's an issue with my order", None),  # "sue" inside a word
        ("Sue from accounts said it shipped", None),  # a name, not a threat
        ("/affirm", None),  # a button
    ],
)
def test_sensitive_topics(text, rule_id):
    assert fired(text) == rule_id


def test_a_sensitive_topic_carries_its_rationale_priority_and_response():
    assessment = assess(turns("I want to die"), channel="rest", tier=None, policies=RULES)
    rule = assessment.rule
    assert assessment.kind == "sensitive_topic" and assessment.matched == "want to die"
    assert rule.priority == "urgent" and rule.response == "utter_sensitive_support"
    assert rule.policy == "escalation" and rule.version == RULES.escalation.version
    assert rule.as_slot()["id"] == "sensitive.self_harm"


def test_scope_restriction_applies_on_its_channel_only():
    assert fired(("reset my password please", "reset_password"), channel="slack") == (
        "scope.shared_workspace_account_changes"
    )
    assert fired(("reset my password please", "reset_password"), channel="rest") is None


def test_lexicon_score_of_single_messages():
    rule = RULES.escalation.frustration
    assert message_score("where is my order", "check_order_status", rule) == 0
    assert message_score("this is useless!!", "inform", rule) == pytest.approx(0.7)
    assert message_score("you idiot", "insult", rule) == pytest.approx(0.5)
    assert message_score("THIS IS RIDICULOUS, I AM FURIOUS", "inform", rule) == 1.0  # capped


def test_one_annoyed_message_is_not_enough_but_a_pattern_is():
    assert fired("this is useless!!") is None
    assert fired("This is ridiculous, I'm fed up, WHERE IS MY ORDER") == "frustration"
    repeated = [("where is my order", "check_order_status")] * 2 + [
        ("I already told you, where is my order", "check_order_status")
    ]
    score = frustration(turns(*repeated), RULES.escalation.frustration)
    assert score.repeats == 2 and score.trend > 0
    assert fired(*repeated) == "frustration"


def test_fallbacks_add_up_with_negativity():
    not_understood = [("asdf", "nlu_fallback"), ("qwerty", "nlu_fallback")]
    assert fired(*not_understood) is None
    assert fired(*not_understood, ("this is pointless", "nlu_fallback")) == "frustration"


def test_the_frustration_rule_explains_the_score():
    assessment = assess(
        turns("This is ridiculous, I'm fed up, WHERE IS MY ORDER"),
        channel="rest",
        tier=None,
        policies=RULES,
    )
    assert "score 1.00, threshold 1.00" in assessment.rule.rationale
    assert assessment.metadata()["frustration"]["message"] == 1.0


def test_user_turns_start_at_the_latest_session():
    events = [
        {"event": "user", "text": "this is useless", "parse_data": {"intent": {"name": "x"}}},
        {"event": "session_started"},
        {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}},
    ]
    assert user_turns(events) == [UserTurn("hi", "greet", None)]


# -- changing a policy file changes behaviour, no code change --------------------


def test_adding_a_keyword_makes_a_message_sensitive(policies_copy):
    text = "I will report this to the chamber of commerce"
    assert fired(text) is None
    edit_policy(
        policies_copy,
        "escalation",
        lambda d: d["rules"]["sensitive_topics"][0]["keywords"].append("chamber of commerce"),
    )
    assert fired(text, rules=load_policies(policies_copy)) == "sensitive.legal_threat"


def test_lowering_the_frustration_threshold_escalates_sooner(policies_copy):
    assert fired("this is useless!!") is None
    edit_policy(
        policies_copy,
        "escalation",
        lambda d: d["rules"]["frustration"].update(threshold=0.5, detect_threshold=0.5),
    )
    assert fired("this is useless!!", rules=load_policies(policies_copy)) == "frustration"


def test_a_tier_restriction_added_to_scope_applies_to_that_tier(policies_copy):
    add_gold_concierge(policies_copy)
    rules = load_policies(policies_copy)
    message = ("cancel my order", "cancel_order")
    assert fired(message, tier="gold", rules=rules) == "scope.gold_concierge"
    assert fired(message, tier="silver", rules=rules) is None
    assert fired(message, tier=None, rules=rules) is None  # not verified yet: the write checks


def test_one_insult_is_answered_calmly_the_second_in_a_row_hands_off():
    assert fired(("shut up", "insult")) is None
    assert fired(("shut up", "insult"), ("get lost", "insult")) == "frustration"
    # Strong words on top of the insult hand off at once (issue 17: abuse).
    assert fired(("you're useless", "insult")) == "frustration"


def test_recent_user_turns_assess_like_the_whole_session():
    # Random sessions of messages, fallbacks and session starts: reading only the recent
    # end from the newest must give the same assessment as reading everything.
    rng = random.Random(3)
    texts = ["hi", "where is my order", "THIS IS USELESS!!!", "asdf", "cancel it", "why??"]
    intents = ["greet", "check_order_status", "nlu_fallback", "nlu_fallback", "cancel_order"]
    rules = RULES
    window = rules.escalation.frustration.window
    for _ in range(300):
        events: list[dict] = []
        for _ in range(rng.randint(1, 30)):
            if rng.random() < 0.05:
                events.append({"event": rng.choice(["session_started", "restart"])})
            events.append(
                {
                    "event": "user",
                    "text": rng.choice(texts),
                    "parse_data": {"intent": {"name": rng.choice(intents), "confidence": 0.9}},
                }
            )
        whole = user_turns(events)
        recent = recent_user_turns(reversed(events), window)
        assert recent == whole[-len(recent) :] if recent else whole == []
        kwargs = {"channel": "rest", "tier": None, "policies": rules}
        assert assess(recent, **kwargs) == assess(whole, **kwargs)

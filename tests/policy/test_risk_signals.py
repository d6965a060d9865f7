"""Risk signals that survive wording: topics by intent, the frustration classifier."""

from __future__ import annotations

import pytest

from frontline.dialogue.risk_signals import (
    classifier_ranking,
    matched_topic,
    summary_line,
    topic_from_intents,
)
from frontline.dialogue.signals import UserTurn, assess, frustration
from frontline.policy.escalation import urgency
from frontline.policy.registry import load_policies
from tests.policy.conftest import POLICIES, edit_policy

RULES = load_policies(POLICIES)
ESCALATION = RULES.escalation
SIGNALS = ESCALATION.intent_signals
TOPICS = ESCALATION.sensitive_topics
FRUSTRATION = ESCALATION.frustration


def turn(text: str, *ranking: tuple[str, float]) -> UserTurn:
    intent, confidence = ranking[0] if ranking else ("inform", 0.9)
    return UserTurn(text, intent, confidence, tuple(ranking))


def decide(*turns: UserTurn, rules=RULES):
    return assess(list(turns), channel="rest", tier=None, policies=rules)


def reason(*turns: UserTurn, rules=RULES) -> str | None:
    return decide(*turns, rules=rules).reason


# -- topics from the trained intent ------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "code", "priority"),
    [
        ("complaint", "complaint", "normal"),
        ("report_fraud", "fraud", "urgent"),
        ("legal_threat", "legal", "high"),
        ("chargeback", "chargeback", "high"),
        ("self_harm", "self_harm", "urgent"),
    ],
)
def test_each_risk_intent_hands_off_with_its_reason_and_priority(intent, code, priority):
    # Words no lexicon knows: only the trained intent can tell.
    assessment = decide(turn("ok so about that thing earlier", (intent, 0.7), ("inform", 0.1)))
    assert assessment.reason == code and assessment.rule.priority == priority
    assert assessment.matched == f"intent:{intent}"
    assert assessment.metadata()["reason"] == code


def test_the_best_intent_counts_from_the_policy_threshold():
    low = SIGNALS.min_confidence - 0.05
    assert reason(turn("mm", ("legal_threat", low), ("inform", 0.04))) is None
    assert reason(turn("mm", ("legal_threat", SIGNALS.min_confidence))) == "legal"


def test_a_close_runner_up_counts_a_distant_one_does_not():
    close = turn("hmm", ("check_order_status", 0.4), ("report_fraud", 0.3))
    far = turn("hmm", ("check_order_status", 0.7), ("report_fraud", 0.26))
    weak = turn("hmm", ("check_order_status", 0.3), ("report_fraud", 0.2))
    assert topic_from_intents(close, TOPICS, SIGNALS)[1] == "runner_up:report_fraud"
    assert topic_from_intents(far, TOPICS, SIGNALS) is None
    assert topic_from_intents(weak, TOPICS, SIGNALS) is None


def test_not_understood_messages_are_judged_by_the_classifier_s_own_ranking():
    # FallbackClassifier put nlu_fallback first; the classifier's view is below it.
    message = turn("i take u to cort", ("nlu_fallback", 0.65), ("legal_threat", 0.5))
    assert classifier_ranking(message) == [("legal_threat", 0.5)]
    assert reason(message) == "legal"
    assert reason(turn("zzz", ("nlu_fallback", 1.0))) is None


def test_a_button_names_the_topic_by_its_intent():
    assert reason(UserTurn("/complaint", "complaint", 1.0)) == "complaint"


def test_changing_the_intent_threshold_in_the_policy_changes_the_decision(policies_copy):
    message = turn("mm", ("chargeback", 0.35), ("inform", 0.3))
    assert reason(message) is None
    edit_policy(
        policies_copy,
        "escalation",
        lambda d: d["rules"]["intent_signals"].update(min_confidence=0.3),
    )
    assert reason(message, rules=load_policies(policies_copy)) == "chargeback"


# -- topics from the words ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("i will go to cort if my parcel not arrive", "legal"),
        ("my lawer will write you", "legal"),
        ("I'm taking this to the ombudsman", "legal"),
        ("somone is using my acount", "fraud"),
        ("i'll do a chargback", "chargeback"),
        ("I'll dispute it with my bank", "chargeback"),
        ("I want to complain about your terrible service", "complaint"),
        ("i want to make a complant", "complaint"),
        ("5 stars, no complaints", None),
        ("not complaining, just asking where my order is", None),
    ],
)
def test_the_lexicon_catches_misspelled_and_indirect_words(text, code):
    assert reason(turn(text, ("inform", 0.9))) == code


def test_the_most_urgent_topic_wins_when_several_match():
    topic, _ = matched_topic("someone hacked my account, I'll sue you", TOPICS)
    assert topic.reason == "fraud" and urgency(topic.priority) == 0


# -- the frustration classifier ----------------------------------------------------------


def test_a_furious_customer_in_capitals_calling_the_company_a_joke_is_handed_off():
    # The case: answered with two jokes before.
    shouted = turn("YOUR COMPANY IS A JOKE", ("chitchat", 0.6))
    score = frustration([shouted], FRUSTRATION)
    assert score.shouting and score.detected
    assert reason(turn("YOUR COMPANY IS A JOKE", ("insult", 0.8))) == "frustration"
    assert reason(turn("THIS COMPANY IS A JOKE!!! I WAITED THREE WEEKS")) == "frustration"


def test_capitals_need_enough_letters_and_a_majority():
    assert not frustration([turn("OK ASAP")], FRUSTRATION).shouting
    assert not frustration([turn("Where is order ABC, the DHL one")], FRUSTRATION).shouting
    assert frustration([turn("WHERE IS MY ORDER")], FRUSTRATION).shouting
    assert reason(turn("WHERE IS MY ORDER", ("check_order_status", 0.9))) is None


@pytest.mark.parametrize(
    "text",
    [
        "this is the third time I contact you about my order",
        "i wrote you 3 times already",
        "still waiting for an answer",
        "i keep asking and nobody answers",
        "waiting for weeks now and no reply",
    ],
)
def test_contacting_again_is_a_signal(text):
    assert frustration([turn(text)], FRUSTRATION).recontact


def test_contacting_again_with_annoyance_hands_off_alone_it_does_not():
    polite = turn("this is the third time I contact you about my order")
    assert reason(polite) is None
    assert decide(polite).frustration.detected  # no jokes from now on
    fed_up = turn("third time I contact you and still waiting, this is unacceptable")
    assert reason(fed_up) == "frustration"


def test_a_complaint_from_a_furious_customer_is_handed_off_for_frustration():
    angry = turn("I WANT TO COMPLAIN, THIS IS RIDICULOUS AND I AM FURIOUS", ("complaint", 0.9))
    assert reason(angry) == "frustration"
    assert reason(turn("I want to complain about the courier", ("complaint", 0.9))) == "complaint"
    # The case after a greeting: a complaint, not frustration (no trend from
    # a calm "hi" to one sharp word).
    complaint = turn("I want to complain about your terrible service", ("complaint", 0.99))
    assert reason(turn("hi", ("greet", 0.99)), complaint) == "complaint"
    # A legal threat is as urgent as frustration: the topic keeps its own reason.
    assert reason(turn("I AM FURIOUS, MY LAWYER WILL CALL YOU")) == "legal"


def test_frustration_seen_earlier_in_the_window_still_counts_as_detected():
    turns = [
        turn("this is ridiculous and useless"),
        turn("can you sing me a song", ("chitchat", 0.9)),
    ]
    score = frustration(turns, FRUSTRATION)
    assert score.message == 0 and score.detected and not score.over_threshold


def test_the_detect_threshold_may_not_exceed_the_handoff_threshold(policies_copy):
    from frontline.errors import ConfigurationError

    edit_policy(
        policies_copy,
        "escalation",
        lambda d: d["rules"]["frustration"].update(detect_threshold=1.5),
    )
    with pytest.raises(ConfigurationError):
        load_policies(policies_copy)


# -- what the agent reads ----------------------------------------------------------------


def test_the_summary_line_is_the_latest_typed_message_masked_on_one_line():
    turns = [
        turn("the driver threw it,\n write to jo@example.com"),
        UserTurn("/complaint", "complaint", 1.0),
    ]
    line = summary_line(turns)
    assert line == "“the driver threw it, write to j***@example.com”"
    assert summary_line([turn("x" * 500)]).endswith("…”")
    assert len(summary_line([turn("x" * 500)])) <= 202
    assessment = decide(*turns)
    assert assessment.reason == "complaint"
    assert assessment.rule.rationale.startswith("The customer made a complaint: “the driver")

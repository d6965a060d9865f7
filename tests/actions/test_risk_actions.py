"""Complaints, fraud, legal threats, self-harm and feedback nobody asked for: the actions.

The escalation dialogue policy sets ``handoff_reason`` and ``escalation_rule`` from the
rules of ``policies/escalation.yml``; here those slots come from the same assessment
(:func:`frontline.dialogue.signals.assess`), and the handoff action runs on them.
"""

from __future__ import annotations

import json

import pytest
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.csat import ActionSaveCsat
from actions.handoff import ActionHandoff
from frontline.dialogue.signals import UserTurn, assess
from frontline.policy import policies
from tests.actions.conftest import confirmation_question, make_tracker


def escalated(text: str, intent: str, confidence: float = 0.9) -> dict:
    """The slots the escalation dialogue policy sets when it hands ``text`` off."""
    assessment = assess(
        [UserTurn(text, intent, confidence, ((intent, confidence),))],
        channel="rest",
        tier=None,
        policies=policies(),
    )
    assert assessment.rule is not None, text
    return {"handoff_reason": assessment.reason, "escalation_rule": assessment.rule.as_slot()}


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]


@pytest.mark.parametrize(
    ("text", "intent", "reason", "priority", "first_words"),
    [
        (
            "the parcel came wet and the driver laughed at me, mail me at jo@example.com",
            "complaint",
            "complaint",
            "normal",
            "utter_complaint_ack",
        ),
        ("somebody make order with my acount, not me", "report_fraud", "fraud", "urgent", None),
        ("if my parcel not arrive i go to the cort", "legal_threat", "legal", "high", None),
        ("my bank will take the money back from you", "chargeback", "chargeback", "high", None),
        ("i dont see why i should keep going", "self_harm", "self_harm", "urgent", None),
    ],
)
async def test_a_risk_is_queued_with_its_reason_priority_and_words(
    backends, domain, text, intent, reason, priority, first_words
):
    sender = f"risk-{intent}"
    slots = escalated(text, intent)
    tracker = make_tracker(domain, slots=slots, intent=intent, text=text, sender_id=sender)
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(backends).run(dispatcher, tracker, domain)

    rule = policies().escalation.topic_rule(
        next(t for t in policies().escalation.sensitive_topics if t.reason == reason)
    )
    assert responses(dispatcher) == [first_words or rule.response, "utter_handoff"]
    assert events[:4] == [
        SlotSet("needs_human", False),
        SlotSet("handoff_reason", None),
        SlotSet("handoff_note", None),
        SlotSet("escalation_rule", None),
    ]
    assert events[4]["name"] == "action_log"
    assert events[4]["value"][-1]["result"] == "queued"
    assert events[4]["value"][-1]["rule_id"] == rule.rule_id
    assert events[5:] == [ConversationPaused()]

    [entry] = backends.queue.find_by_conversation(sender)
    packet = entry.packet
    assert packet["reason"]["code"] == reason
    assert packet["reason"]["rule"]["id"] == rule.rule_id
    assert packet["priority"] == priority == entry.priority


async def test_a_complaint_reaches_the_agent_as_one_masked_line(backends, domain):
    text = "I want to complain:\n the driver was rude, call me on 555-201-3344 or jo@example.com"
    slots = escalated(text, "complaint")
    tracker = make_tracker(domain, slots=slots, intent="complaint", text=text, sender_id="cmp-1")
    await ActionHandoff(backends).run(CollectingDispatcher(), tracker, domain)

    [entry] = backends.queue.find_by_conversation("cmp-1")
    rationale = entry.packet["reason"]["rationale"]
    assert rationale.startswith("The customer made a complaint: “I want to complain: the driver")
    assert "\n" not in rationale
    assert "jo@example.com" not in json.dumps(entry.packet)
    assert "3344" not in rationale and "j***@example.com" in rationale
    assert "Handed off (complaint)" in entry.packet["summary"]
    assert "the driver was rude" in entry.packet["summary"]


# -- feedback: a comment only right after "How did I do?" -------------------------------


async def test_feedback_nobody_asked_for_is_not_a_rating_comment(backends, domain):
    tracker = make_tracker(
        domain,
        intent="csat_feedback",
        text="terrible experience, nobody helps",
        sender_id="csat-unasked",
    )
    dispatcher = CollectingDispatcher()
    events = await ActionSaveCsat(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_feedback_not_rated"]
    assert events == [SlotSet("csat", None)]
    assert backends.feedback.for_conversation("csat-unasked") == []


async def test_a_comment_long_after_the_question_is_not_stored(backends, domain):
    pending = {"feedback_id": "csat-late", "intent": "cancel_order", "rated": False}
    tracker = make_tracker(
        domain,
        slots={"csat": pending},
        intent="csat_feedback",
        text="your service is really poor",
        sender_id="csat-late",
        history=[
            confirmation_question("utter_ask_csat"),
            {"event": "user", "text": "where is my other order", "parse_data": {}},
            confirmation_question("utter_order_status"),
        ],
    )
    dispatcher = CollectingDispatcher()
    events = await ActionSaveCsat(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_feedback_not_rated"]
    assert events == [SlotSet("csat", pending)]
    assert backends.feedback.for_conversation("csat-late") == []


async def test_a_late_tap_on_a_rating_button_keeps_the_score_only(backends, domain):
    pending = {"feedback_id": "csat-tap", "intent": "cancel_order", "rated": False}
    tracker = make_tracker(
        domain,
        slots={"csat": pending},
        intent="csat_feedback",
        text='/csat_feedback{"rating": "2"}',
        entities=[{"entity": "rating", "value": "2"}],
        sender_id="csat-tap",
        history=[
            confirmation_question("utter_ask_csat"),
            {"event": "user", "text": "thanks", "parse_data": {}},
            confirmation_question("utter_you_are_welcome"),
        ],
    )
    dispatcher = CollectingDispatcher()
    events = await ActionSaveCsat(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_csat_thanks"]
    assert events == [SlotSet("csat", pending | {"rated": True})]
    [record] = backends.feedback.for_conversation("csat-tap")
    assert (record.score, record.comment) == (2, None)

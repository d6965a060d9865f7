"""Complaints, fraud, legal threats and anger reach a person, through the running servers.

Each message below is written as customers write (non-native English, indirect words,
capitals); each must end in a queued handoff with the right reason code and priority,
the topic's own words to the customer first, and the conversation paused. A complaint is
never stored as a satisfaction comment, and reaches the agent in the customer's words.
"""

from __future__ import annotations

import pytest

from frontline.feedback import create as create_feedback_store
from tests.e2e.conftest import Stack
from tests.e2e.test_escalation import run_with_policies

pytestmark = pytest.mark.e2e


@pytest.fixture
def live(stack: Stack) -> Stack:
    """The stack running with the repository's policy files."""
    run_with_policies(stack, None)
    return stack


CASES = [
    # (message, reason code, priority, rule id, words the customer reads first)
    (
        "if my parcel not arrive this week, i will make case against your shop in the court",
        "legal",
        "high",
        "sensitive.legal_threat",
        "I'm sorry it has come to this",
    ),
    (
        "there is orders in my account which i never done, other person is inside it",
        "fraud",
        "urgent",
        "sensitive.fraud",
        "secure your account now",
    ),
    (
        "I want to complain about your terrible service",
        "complaint",
        "normal",
        "sensitive.complaint",
        "I'm passing your complaint",
    ),
    (
        "THIS COMPANY IS A JOKE!!! I HAVE WAITED THREE WEEKS FOR NOTHING",
        "frustration",
        "high",
        "frustration",
        None,
    ),
]


@pytest.mark.parametrize(("text", "reason", "priority", "rule_id", "first_words"), CASES)
def test_a_risk_ends_in_a_queued_handoff_with_its_reason_and_priority(
    live, text, reason, priority, rule_id, first_words
):
    chat = live.conversation()
    chat.say("hi")
    replies = chat.say(text)
    assert "passed your conversation to a human colleague" in replies[-1]
    if first_words:
        assert first_words in replies[0] and len(replies) == 2
    assert chat.tracker()["paused"] is True

    [entry] = live.queue.find_by_conversation(chat.sender)
    packet = entry.packet
    assert entry.status == "pending"
    assert (packet["reason"]["code"], packet["priority"], entry.priority) == (
        reason,
        priority,
        priority,
    )
    assert packet["reason"]["rule"]["id"] == rule_id
    assert text in [turn["text"] for turn in packet["last_turns"]]


def test_a_complaint_is_summarised_for_the_agent_and_never_stored_as_feedback(live):
    chat = live.conversation()
    chat.say("I want to complain about your terrible service, write me at jo@example.com")
    [entry] = live.queue.find_by_conversation(chat.sender)
    rationale = entry.packet["reason"]["rationale"]
    assert rationale.startswith("The customer made a complaint: “I want to complain about")
    assert "jo@example.com" not in rationale and "j***@example.com" in rationale
    store = create_feedback_store({"type": "sql", "url": live.env["FRONTLINE_DATABASE_URL"]})
    assert store.for_conversation(chat.sender) == []

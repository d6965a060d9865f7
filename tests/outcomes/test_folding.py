"""Outcome records folded from real Rasa event sequences (recorded from the running
servers by ``tests/outcomes/record_trackers.py``), on SQLite and PostgreSQL.

The person's side comes from a real SQL handoff queue whose transitions are replayed
at the recorded instants (its clock is injected), the CSAT answer from the real
feedback store, and time from an injected clock.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from frontline.feedback import CsatRecord, SqlFeedbackStore
from frontline.handoff.sql_queue import SqlHandoffQueue
from frontline.outcomes.human_side import QueueReader
from tests.outcomes.support import Clock, make_writer, recorded


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


class ReplayClock:
    """The queue's clock: set to each recorded transition's instant in turn."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def replay_handoff(queue: SqlHandoffQueue, clock: ReplayClock, conversation: str, info: dict):
    """The desk's transitions of a recorded handoff, at their recorded instants."""
    clock.now = instant(info["enqueued_at"])
    packet = {
        "handoff_id": info["handoff_id"],
        "conversation_id": conversation,
        "reason": {"code": info["reason"]},
        "customer": {"tier": None},
    }
    entry_id = queue.enqueue(packet)
    clock.now = instant(info["first_claimed_at"])
    queue.claim(entry_id, info["claimed_by"])
    clock.now = instant(info["resolved_at"])
    queue.resolve(entry_id, info["claimed_by"], info["resolution_code"])


def test_an_order_status_resolved_and_rated(outcome_url):
    conversation = recorded("order_status_rated")
    feedback = SqlFeedbackStore(outcome_url)
    csat_slot = next(
        e["value"] for e in conversation.events if e["event"] == "slot" and e["name"] == "csat"
    )
    at = datetime.fromtimestamp(conversation.end(), timezone.utc)
    # What the action server stored for the answer (score and masked comment).
    feedback.save(
        CsatRecord(csat_slot["feedback_id"], conversation.conversation_id, "rest",
                   "check_order_status", 5, "quick and clear, thanks", at, at)  # fmt: skip
    )
    writer = make_writer(outcome_url, feedback=feedback, clock=Clock(conversation.end() + 60))
    writer.feed(conversation.events)

    record = writer.record(conversation.conversation_id)
    assert record.outcome == "resolved_by_assistant"
    assert record.interaction_type == "check_order_status"
    assert record.channel == "rest" and record.tier == "gold" and record.customer_verified
    assert "C1001" not in str(record.as_dict()) and len(record.customer_key) == 32
    assert (record["turns"], record["clarifying_questions"], record["fallbacks"]) == (5, 0, 0)
    assert (record["backend_calls"], record["backend_failures"]) == (1, 0)
    assert (record["actions_started"], record["actions_completed"]) == (1, 1)
    assert record["csat_asked"] and record["csat_score"] == 5
    assert record["csat_comment"] == "quick and clear, thanks"
    # First customer message 1796671559.8805, first answer 1796671559.9467.
    assert record["first_response_seconds"] == pytest.approx(0.066, abs=0.001)
    # From the first message to the assistant's last answer (1796671560.1469).
    assert record["assistant_handle_seconds"] == pytest.approx(0.266, abs=0.001)
    assert record["model_id"] == "b8912a2748f043eda84a3fb990b192de"
    assert record["policy_version"] == "test-policies"
    # "thanks" after the resolution is no follow-up request; nothing reopened it.
    assert record["follow_ups_after_resolution"] == 0 and not record["reopened"]
    hist = [int(n) for n in record["confidence_hist"].strip("[]").split(",")]
    assert sum(hist) == 5


def test_a_clarifying_question_before_the_resolution(outcome_url):
    conversation = recorded("clarified_then_resolved")
    writer = make_writer(outcome_url, clock=Clock(conversation.end() + 60))
    writer.feed(conversation.events)
    record = writer.record(conversation.conversation_id)
    assert record.outcome == "resolved_after_clarification"
    assert record["clarifying_questions"] == 1 and record["fallbacks"] == 1
    assert record.tier == "silver"


def test_a_handoff_resolved_by_a_person_takes_its_times_from_the_queue(outcome_url, unique_name):
    conversation = recorded("handoff_resolved_by_person")
    clock = ReplayClock()
    queue = SqlHandoffQueue(outcome_url, unique_name, clock=clock)
    writer = make_writer(outcome_url, queue=QueueReader(lambda: queue))
    before, after = conversation.split(lambda e: e["event"] == "pause")
    writer.feed(before)
    assert writer.record(conversation.conversation_id).outcome == "escalated"

    replay_handoff(queue, clock, conversation.conversation_id, conversation.handoff)
    writer.feed(after)  # the agent's reply, then the resume the desk appended

    record = writer.record(conversation.conversation_id)
    info = conversation.handoff
    assert record.outcome == "resolved_by_person"
    assert record.escalation_reason == "customer_request"
    assert record["resolution_code"] == "information_given"
    waited = (instant(info["first_claimed_at"]) - instant(info["enqueued_at"])).total_seconds()
    handled = (instant(info["resolved_at"]) - instant(info["first_claimed_at"])).total_seconds()
    assert record["queue_wait_seconds"] == pytest.approx(waited, abs=0.001)
    assert record["human_handle_seconds"] == pytest.approx(handled, abs=0.001)
    # The order status was shown (and CSAT asked), then the customer wanted a person.
    assert record["reopened"] and record["csat_asked"]


def test_handed_back_then_resolved_by_the_assistant(outcome_url, unique_name):
    conversation = recorded("handoff_handed_back_resolved")
    clock = ReplayClock()
    queue = SqlHandoffQueue(outcome_url, unique_name, clock=clock)
    writer = make_writer(outcome_url, queue=QueueReader(lambda: queue))
    before, after = conversation.split(lambda e: e["event"] == "pause")
    writer.feed(before)
    replay_handoff(queue, clock, conversation.conversation_id, conversation.handoff)
    writer.feed(after)
    record = writer.record(conversation.conversation_id)
    assert record.outcome == "handed_back_resolved"
    assert record["handed_back"] and record["resolution_code"] == "handed_back"
    assert record.interaction_type == "request_human" and record.tier == "bronze"


def test_a_backend_failure_hands_off_and_counts_as_a_failed_call(outcome_url):
    conversation = recorded("backend_error_handoff")
    writer = make_writer(outcome_url, clock=Clock(conversation.end() + 60))
    writer.feed(conversation.events)
    record = writer.record(conversation.conversation_id)
    assert record.outcome == "escalated" and record.escalation_reason == "backend_error"
    assert (record["backend_calls"], record["backend_failures"]) == (1, 1)
    # The form ended to hand off: started, not completed.
    assert (record["actions_started"], record["actions_completed"]) == (1, 0)


def test_quiet_for_thirty_minutes_is_abandoned(outcome_url):
    conversation = recorded("abandoned_cancellation")
    last_message = max(e["timestamp"] for e in conversation.events if e["event"] == "user")
    clock = Clock(last_message + 60)
    writer = make_writer(outcome_url, clock=clock)
    writer.feed(conversation.events)
    assert writer.record(conversation.conversation_id).outcome == "in_progress"
    clock.now = last_message + 29 * 60
    writer.processor.housekeeping(force=True)
    assert writer.record(conversation.conversation_id).outcome == "in_progress"
    clock.now = last_message + 30 * 60 + 1
    writer.processor.housekeeping(force=True)
    record = writer.record(conversation.conversation_id)
    assert record.outcome == "abandoned" and record.interaction_type == "cancel_order"


def test_a_greeting_alone_is_unengaged_and_an_faq_answer_resolves(outcome_url):
    greeting, faq = recorded("greeting_only"), recorded("faq_shipping")
    clock = Clock(faq.end() + 60)
    writer = make_writer(outcome_url, clock=clock)
    writer.feed(greeting.events + faq.events)
    assert writer.record(faq.conversation_id).outcome == "resolved_by_assistant"
    assert writer.record(faq.conversation_id).interaction_type == "faq"
    clock.now = greeting.end() + 31 * 60
    writer.processor.housekeeping(force=True)
    record = writer.record(greeting.conversation_id)
    assert record.outcome == "unengaged" and record.interaction_type is None


def test_a_repeat_contact_on_another_channel_days_later(outcome_url):
    first = recorded("order_status_rated")
    day = 86_400.0
    again = first.retimed(first.start() + 3 * day, conversation_id="slack-U1", channel="slack")
    much_later = first.retimed(first.start() + 20 * day, conversation_id="ws-1", channel="socketio")
    clock = Clock(much_later.end() + 60)
    writer = make_writer(outcome_url, clock=clock)
    for conversation in (first, again, much_later):
        writer.feed(conversation.events)

    one, two, three = (writer.record(c.conversation_id) for c in (first, again, much_later))
    assert one.customer_key == two.customer_key == three.customer_key  # verified: any channel
    assert two["is_repeat"] and two["repeat_of"] == one.contact_id
    assert one["followed_by_repeat"] and not one["is_repeat"]
    assert two.channel == "slack"
    # 17 days after the previous one: beyond the policy's 7 days, a new matter.
    assert not three["is_repeat"] and not two["followed_by_repeat"]


def test_a_new_session_is_a_new_contact(outcome_url):
    first = recorded("order_status_rated")
    later = first.retimed(first.end() + 2 * 3600)  # same conversation, a new session
    writer = make_writer(outcome_url, clock=Clock(later.end() + 60))
    writer.feed(first.events)
    writer.feed(later.events)
    records = writer.store.for_conversation(first.conversation_id)
    assert [r.outcome for r in records] == ["resolved_by_assistant", "resolved_by_assistant"]
    assert records[1]["is_repeat"] and records[0]["followed_by_repeat"]


def test_a_restart_of_the_writer_loses_nothing(outcome_url, sqlite_url):
    conversation = recorded("clarified_then_resolved")
    middle = len(conversation.events) // 2
    whole = make_writer(sqlite_url, clock=Clock(conversation.end() + 60))
    whole.feed(conversation.events)
    halves = make_writer(outcome_url, clock=Clock(conversation.end() + 60))
    halves.feed(conversation.events[:middle])
    # A new process (another worker, or after a restart) carries on from the store.
    restarted = make_writer(outcome_url, clock=Clock(conversation.end() + 60))
    restarted.feed(conversation.events[middle:])

    expected = whole.record(conversation.conversation_id).as_dict()
    actual = restarted.record(conversation.conversation_id).as_dict()
    for volatile in ("updated_at", "version"):
        expected.pop(volatile), actual.pop(volatile)
    assert actual == expected

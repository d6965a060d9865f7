"""Whole conversations over the REST channel, checked against backend state."""

from __future__ import annotations

import json

import pytest
import requests

pytestmark = pytest.mark.e2e


def joined(replies: list[str]) -> str:
    return "\n".join(replies)


def events_named(tracker: dict, event_type: str) -> list[dict]:
    return [e for e in tracker["events"] if e["event"] == event_type]


def test_greeting_says_it_is_automated_and_a_human_is_available(stack):
    replies = joined(stack.conversation().say("hello"))
    assert "automated assistant" in replies
    assert "talk to a person" in replies


def test_verify_and_cancel_an_order(stack):
    chat = stack.conversation()
    assert "e-mail address" in joined(chat.say("I want to cancel an order"))
    assert "order numbers" in joined(chat.say("jane.doe@example.com"))
    replies = joined(chat.say("my zip is 94107"))
    assert "you're verified" in replies and "Which order" in replies
    assert any('"order_id": "482914"' in b["payload"] for b in chat.buttons())

    prompt = joined(chat.say("482914"))
    order = stack.order("482914")
    assert "Please confirm: cancel order 482914" in prompt
    assert order["items"][0]["name"] in prompt and order["state"] == "paid"
    assert [b["payload"] for b in chat.buttons()] == ["/affirm", "/deny"]

    assert "order 482914 is cancelled" in joined(chat.say("/affirm"))
    assert stack.order("482914")["state"] == "cancelled"
    log = chat.tracker()["slots"]["action_log"]
    assert log[-1]["action"] == "cancel_order" and log[-1]["result"] == "cancelled"


def test_saying_no_at_the_confirmation_changes_nothing(stack):
    chat = stack.conversation()
    chat.say("please cancel order 630001, my email is li.wei@example.net")
    assert stack.order("630001")["state"] == "placed"
    assert "haven't cancelled anything" in joined(chat.say("no, keep it"))
    assert stack.order("630001")["state"] == "placed"
    assert chat.tracker()["slots"]["cancel_confirmed"] is None


def test_an_order_that_has_shipped_is_not_cancelled(stack):
    chat = stack.conversation()
    replies = joined(chat.say("cancel order 482913 please, email jane.doe@example.com"))
    assert "can no longer be cancelled" in replies
    assert stack.order("482913")["state"] == "shipped"


def test_order_status_shows_state_items_and_tracking(stack):
    chat = stack.conversation()
    chat.say("where is my order?")
    chat.say("jane.doe@example.com")
    replies = joined(chat.say("482913"))
    order = stack.order("482913")
    assert "Order 482913" in replies and "on its way" in replies
    assert order["shipment"]["tracking_number"] in replies


def test_a_request_that_fits_nowhere_in_a_form_is_answered_once_and_the_form_goes_on(stack):
    chat = stack.conversation()
    chat.say("where is my order?")
    chat.say("jane.doe@example.com")
    assert "Which order" in joined(chat.say("94107"))
    # Understood, but the form waits for an order number: one answer, not a loop.
    replies = chat.say("where is my order?")
    assert len(replies) == 1 and "other words" in replies[0]
    fallbacks = [
        e for e in events_named(chat.tracker(), "action") if e["name"] == "action_fallback"
    ]
    assert len(fallbacks) == 1
    # The conversation is not stuck: the order number carries on where it was.
    replies = joined(chat.say("482913"))
    assert "Order 482913" in replies and "on its way" in replies


def test_asking_for_a_human_queues_a_context_packet_and_pauses_the_bot(stack):
    chat = stack.conversation()
    chat.say("where is order 482913? I'm jane.doe@example.com")
    replies = joined(chat.say("I want to talk to a human"))
    assert "human colleague" in replies

    [entry] = stack.queue.find_by_conversation(chat.sender)
    packet = entry.packet
    assert packet["conversation_id"] == chat.sender and packet["channel"] == "rest"
    assert packet["reason"]["code"] == "customer_request"
    assert packet["priority"] == "high"  # gold customer
    assert packet["customer"]["verified"] is True
    assert packet["customer"]["customer_id"] == "C1001"
    assert packet["customer"]["email"] == "j***@example.com"
    assert packet["intent"]["name"] == "request_human"
    assert any(a["action"] == "order_status" for a in packet["actions_attempted"])
    assert any("482913" in t["text"] for t in packet["last_turns"])
    assert "jane.doe@example.com" not in json.dumps(packet)

    assert chat.say("hello? anyone?") == []  # paused until a human hands back
    tracker = chat.tracker()
    assert tracker["paused"] is True
    assert tracker["latest_message"]["text"] == "hello? anyone?"  # kept, not lost


def test_three_failed_verifications_hand_off(stack):
    chat = stack.conversation()
    chat.say("where is my order")
    for attempt in range(3):
        replies = joined(chat.say(f"nobody@example.org zip 1000{attempt}"))
    assert "human colleague" in replies
    [entry] = stack.queue.find_by_conversation(chat.sender)
    assert entry.packet["reason"]["code"] == "verification_failed"
    assert entry.packet["customer"]["verified"] is False


def test_a_backend_that_times_out_gets_a_clear_answer_and_an_escalation(stack):
    chat = stack.conversation()
    chat.say("where is my order")
    chat.say("omar.haddad@example.com")
    stack.set_faults(latency_ms=4000, path_prefix="/orders")
    try:
        replies = joined(chat.say("551200"))
    finally:
        stack.clear_faults()
    assert "isn't answering" in replies and "human colleague" in replies
    [entry] = stack.queue.find_by_conversation(chat.sender)
    assert entry.packet["reason"]["code"] == "backend_error"


def test_bad_input_gets_a_clear_answer_and_loses_nothing(stack):
    chat = stack.conversation()
    chat.say("where is my order")
    webhook = f"{stack.rasa.url}/webhooks/rest/webhook"

    malformed = requests.post(webhook, data=b"{not json", timeout=10)
    assert malformed.status_code == 400 and malformed.json()["error"] == "invalid_json"
    huge = requests.post(
        webhook, json={"sender": chat.customer_id, "message": "x" * 50_000}, timeout=30
    )
    assert huge.status_code == 413 and huge.json()["error"] == "message_too_long"
    binary = requests.post(
        webhook, json={"sender": chat.customer_id, "message": "\x00\x01\x02\x03\x04"}, timeout=10
    )
    assert binary.status_code == 400 and binary.json()["error"] == "binary_message"

    # The conversation is intact: the form still waits for the e-mail address.
    assert chat.tracker()["active_loop"]["name"] == "order_status_form"
    assert "order numbers" in joined(chat.say("jane.doe@example.com"))


def test_an_unknown_order_number_gets_a_clear_answer(stack):
    chat = stack.conversation()
    chat.say("where is my order? I'm jane.doe@example.com, zip 94107")
    replies = joined(chat.say("999999"))
    assert "couldn't find order 999999" in replies and "Which order" in replies
    tracker = chat.tracker()
    assert tracker["slots"]["customer_verified"] is True
    assert tracker["slots"]["order_id"] is None
    assert tracker["active_loop"]["name"] == "order_status_form"

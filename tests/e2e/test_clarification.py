""""Did you mean …?" through the running servers: buttons, a click, the flow goes on."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e

# Between cancelling and checking an order: the trained model is unsure which one.
UNCLEAR = "cancel 551203 maybe, or just see where it is"


def joined(replies: list[str]) -> str:
    return "\n".join(replies)


def test_an_unclear_request_offers_both_and_the_click_keeps_the_order_number(stack):
    chat = stack.conversation()
    assert "Did you mean" in joined(chat.say(UNCLEAR))
    buttons = {b["title"]: b["payload"] for b in chat.buttons()}
    assert list(buttons) == ["Cancel an order", "Check an order's status", "Something else"] or (
        list(buttons) == ["Check an order's status", "Cancel an order", "Something else"]
    )
    cancel = buttons["Cancel an order"]
    assert cancel.startswith("/cancel_order{")
    assert json.loads(cancel.removeprefix("/cancel_order")) == {"order_id": "551203"}
    assert buttons["Something else"] == "/nlu_fallback"
    tracker = chat.tracker()
    assert tracker["latest_message"]["intent"]["name"] == "nlu_clarify"
    assert [o["intent"] for o in tracker["latest_message"]["clarification"]["options"]] == [
        "cancel_order" if list(buttons)[0] == "Cancel an order" else "check_order_status",
        "check_order_status" if list(buttons)[0] == "Cancel an order" else "cancel_order",
    ]

    # The click: the cancellation starts with the order number of the first message.
    assert "e-mail address" in joined(chat.say(cancel))
    prompt = joined(chat.say("omar.haddad@example.com"))
    assert "you're verified" in prompt
    assert "Please confirm: cancel order 551203" in prompt  # not asked which order
    assert stack.order("551203")["state"] == "paid"
    assert "order 551203 is cancelled" in joined(chat.say("/affirm"))
    assert stack.order("551203")["state"] == "cancelled"
    slots = chat.tracker()["slots"]
    assert slots["order_id"] == "551203"
    assert slots["action_log"][-1]["action"] == "cancel_order"


def test_something_else_asks_to_rephrase_then_a_clear_request_is_answered(stack):
    chat = stack.conversation()
    chat.say(UNCLEAR)
    assert "Something else" in [b["title"] for b in chat.buttons()]
    assert "say that in other words" in joined(chat.say("/nlu_fallback"))
    assert "e-mail address" in joined(chat.say("I want to know where my parcel is"))
    events = [e for e in chat.tracker()["events"] if e["event"] == "action"]
    names = [e["name"] for e in events]
    assert names.index("action_clarify") < names.index("action_fallback")
    assert names[-1] in ("order_status_form", "action_listen")

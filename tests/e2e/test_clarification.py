""""Did you mean …?" through the running servers: buttons, a click, the flow goes on."""

from __future__ import annotations

import json

import pytest
import requests

from frontline.nlu.clarification_policy import load_clarification_policy
from tests.e2e.conftest import AUTH_TOKEN, Stack
from tests.support.processes import REPO_ROOT

pytestmark = pytest.mark.e2e

# Requests about Omar's paid order 551203 that could be a cancellation or a status check.
# Which of them the trained model is unsure about depends on the data and the thresholds of
# the day; the test asks the model and uses the first one it would clarify.
CANDIDATES = [
    "551203 - cancel, or is it already on the way?",
    "551203 stop it or tell me where it is",
    "what's up with 551203, I may cancel",
    "about 551203, cancel... or where is it?",
    "thinking about cancelling 551203",
    "551203 cancel?",
]
LABELS = load_clarification_policy(REPO_ROOT / "policies").labels


def parse(stack: Stack, text: str) -> dict:
    response = requests.post(
        f"{stack.rasa.url}/model/parse",
        params={"token": AUTH_TOKEN},
        json={"text": text},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def unclear_message(stack: Stack) -> tuple[str, list[str]]:
    """The first candidate the model asks about, with cancelling among the options."""
    for text in CANDIDATES:
        parsed = parse(stack, text)
        options = [o["intent"] for o in (parsed.get("clarification") or {}).get("options", [])]
        if parsed["intent"]["name"] == "nlu_clarify" and "cancel_order" in options:
            return text, options
    pytest.fail(f"the model asks about none of {CANDIDATES}: retune or add a candidate")


def joined(replies: list[str]) -> str:
    return "\n".join(replies)


def test_an_unclear_request_offers_the_options_and_the_click_keeps_the_order_number(stack):
    text, options = unclear_message(stack)
    chat = stack.conversation()
    assert "Did you mean" in joined(chat.say(text))
    buttons = [(b["title"], b["payload"]) for b in chat.buttons()]
    assert [title for title, _ in buttons] == [
        *(LABELS[o] for o in options),
        "Something else",
    ]
    payloads = dict(buttons)
    cancel = payloads["Cancel an order"]
    assert cancel.startswith("/cancel_order{")
    assert json.loads(cancel.removeprefix("/cancel_order")) == {"order_id": "551203"}
    assert payloads["Something else"] == "/nlu_fallback"
    assert chat.tracker()["latest_message"]["intent"]["name"] == "nlu_clarify"

    # The click: the cancellation starts with the order number of the first message.
    assert "e-mail address" in joined(chat.say(cancel))
    prompt = joined(chat.say("omar.haddad@example.com"))
    assert "you're verified" in prompt
    assert "Please confirm: cancel order 551203" in prompt  # not asked which order
    assert stack.order("551203")["state"] == "paid"
    assert "order 551203 is cancelled" in joined(chat.say("/affirm"))
    assert stack.order("551203")["state"] == "cancelled"
    log = chat.tracker()["slots"]["action_log"]
    assert log[-1]["action"] == "cancel_order" and log[-1]["result"] == "cancelled"


def test_something_else_asks_to_rephrase_then_a_clear_request_is_answered(stack):
    text, _ = unclear_message(stack)
    chat = stack.conversation()
    chat.say(text)
    assert "Something else" in [b["title"] for b in chat.buttons()]
    assert "say that in other words" in joined(chat.say("/nlu_fallback"))
    assert "e-mail address" in joined(chat.say("I want to know where my parcel is"))
    actions = [e["name"] for e in chat.tracker()["events"] if e["event"] == "action"]
    assert actions.index("action_clarify") < actions.index("action_fallback")
    assert "order_status_form" in actions[actions.index("action_fallback") :]

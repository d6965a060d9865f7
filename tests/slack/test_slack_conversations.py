"""Whole conversations through the real Rasa server's Slack webhook.

Signed Events API and interactivity requests go to ``/webhooks/slack/webhook`` of the
running stack; the bot's replies land in a local fake of Slack's Web API, which records
every ``chat.postMessage``. Outcomes are checked where they happen: the tracker, the
sandbox's order system and CRM, the handoff queue.

The channel is configured as in ``credentials.yml``: replies in a thread under the
customer's message, one conversation per person and Slack channel.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from tests.e2e.conftest import AUTH_TOKEN, Stack
from tests.support.fake_slack import (
    SlackCustomer,
    SlackRequest,
    post_buttons,
    post_texts,
    slack_id,
)

pytestmark = pytest.mark.e2e


def customer(stack: Stack, **details: Any) -> SlackCustomer:
    """A person writing to the stack's Rasa server on Slack."""
    return SlackCustomer(stack.rasa.url, AUTH_TOKEN, stack.slack, stack.slack_sender, **details)


def actions_run(tracker: dict[str, Any], name: str) -> int:
    return sum(1 for e in tracker["events"] if e["event"] == "action" and e["name"] == name)


def button_for(posts: list[dict[str, Any]], text: str) -> str:
    values = [b["value"] for b in post_buttons(posts) if text in b["value"] or text in b["title"]]
    assert values, f"no button for {text!r} in {post_buttons(posts)}"
    return values[0]


def test_a_slack_conversation_verifies_and_cancels_an_order(stack):
    jane = customer(stack)

    greeting = jane.say("hi")
    assert "automated assistant" in post_texts(greeting)
    assert all(p["thread_ts"] == jane.thread_ts for p in greeting)  # use_threads

    assert "e-mail address" in post_texts(jane.say("I'd like to cancel an order"))
    assert "order numbers" in post_texts(jane.say("jane.doe@example.com"))
    choice = jane.say("94107")
    assert "you're verified" in post_texts(choice)
    if any("482916" in b["value"] for b in post_buttons(choice)):
        prompt = jane.click(button_for(choice, "482916"))
    else:
        prompt = jane.say("482916")
    assert "Please confirm: cancel order 482916" in post_texts(prompt)
    assert stack.order("482916")["state"] == "placed"

    done = jane.click(button_for(prompt, "/affirm"))

    assert "order 482916 is cancelled" in post_texts(done)
    assert stack.order("482916")["state"] == "cancelled"
    tracker = jane.tracker()
    assert actions_run(tracker, "action_cancel_order") == 1
    assert tracker["slots"]["customer_id"] == "C1001"
    assert {e.get("input_channel") for e in tracker["events"] if e["event"] == "user"} == {"slack"}
    contacts = requests.get(f"{stack.sandbox.url}/crm/customers/C1001/contacts", timeout=10)
    mine = [c for c in contacts.json()["contacts"] if c["conversation_id"] == jane.conversation_id]
    assert [(c["channel"], c["topic"]) for c in mine] == [("slack", "order cancellation")]


@pytest.mark.parametrize("reason", ["http_error", "http_timeout"])
def test_slack_retries_never_run_an_action_or_a_write_twice(stack, reason):
    omar = customer(stack)
    order_id = "551203" if reason == "http_error" else "630001"
    email = "omar.haddad@example.com" if order_id == "551203" else "li.wei@example.net"
    prompt = omar.say(f"please cancel order {order_id}, my email is {email}")
    assert f"Please confirm: cancel order {order_id}" in post_texts(prompt)

    yes = omar.message("yes, cancel it")
    mark = stack.slack.mark()
    retries = [
        SlackRequest(
            yes.body, yes.headers | {"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": reason}
        )
        for n in (1, 2)
    ]
    # The first delivery and a retry arrive together; another retry comes later.
    answers: list[int] = []
    twins = [
        threading.Thread(target=lambda r=r: answers.append(omar.deliver(r).status_code))
        for r in (yes, retries[0])
    ]
    for thread in twins:
        thread.start()
    for thread in twins:
        thread.join(timeout=30)
    omar.sent += 1
    omar.wait_until_answered()
    late = omar.deliver(retries[1])

    assert answers == [200, 200] and late.status_code == 200
    assert late.headers.get("X-Slack-No-Retry") == "1"
    tracker = omar.wait_until_answered()
    assert [e["text"] for e in tracker["events"] if e["event"] == "user"][-1] == "yes, cancel it"
    assert sum(1 for e in tracker["events"] if e["event"] == "user") == 2
    assert actions_run(tracker, "action_cancel_order") == 1
    log = [entry for entry in tracker["slots"]["action_log"] if entry["action"] == "cancel_order"]
    assert [entry["result"] for entry in log] == ["cancelled"]
    cancelled = [p for p in stack.slack.posts(mark) if "is cancelled" in p.get("text", "")]
    assert len(cancelled) == 1
    assert stack.order(order_id)["state"] == "cancelled"


def test_forged_and_stale_requests_are_refused(stack):
    mallory = customer(stack)
    genuine = mallory.message("cancel order 482914, my email is jane.doe@example.com")
    sender = stack.slack_sender
    forged = sender.sign(genuine.body, "application/json", secret="a-guess")
    stale = sender.sign(genuine.body, "application/json", timestamp=time.time() - 6 * 60)
    mark = stack.slack.mark()

    assert mallory.deliver(forged).status_code == 400
    assert mallory.deliver(stale).status_code == 400

    user_events = [e for e in mallory.tracker()["events"] if e["event"] == "user"]
    assert user_events == []
    assert stack.slack.posts(mark) == []
    assert stack.order("482914")["state"] == "paid"


def test_what_was_verified_in_a_dm_is_not_reused_in_a_shared_channel(stack):
    li = customer(stack)
    li.say("where is my order? I'm li.wei@example.net")
    assert "you're verified" in post_texts(li.say("60614"))

    in_public = customer(stack, user=li.user, channel=slack_id("C"), channel_type="channel")
    asked = in_public.say("<@U0FRONTBOT> where is my order?", kind="app_mention")

    assert "e-mail address" in post_texts(asked)  # verify again, here
    assert in_public.tracker()["slots"]["customer_verified"] is False


def test_a_handoff_on_slack_and_the_agents_reply_in_the_same_thread(stack):
    jane = customer(stack)
    jane.say("where is order 482913? I'm jane.doe@example.com")
    handed = jane.say("I want to talk to a person")
    assert "human colleague" in post_texts(handed)
    [entry] = stack.queue.find_by_conversation(jane.conversation_id)
    assert entry.packet["channel"] == "slack"
    assert entry.packet["customer"]["customer_id"] == "C1001"
    assert any(c["current"] and c["channel"] == "slack" for c in entry.packet["recent_contacts"])

    # The desk answers through Rasa's API; output_channel=latest is this Slack thread.
    mark = stack.slack.mark()
    answer = requests.post(
        f"{stack.rasa.url}/conversations/{jane.conversation_id}/tracker/events",
        params={"token": AUTH_TOKEN, "output_channel": "latest", "execute_side_effects": "true"},
        json=[
            {
                "event": "bot",
                "text": "Hi Jane, Sam here. Your parcel is with UPS.",
                "metadata": {"frontline_agent": "sam", "agent_name": "Sam"},
            }
        ],
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    [post] = stack.slack.posts(mark)
    assert post["channel"] == jane.channel and post["thread_ts"] == jane.thread_ts
    assert post["text"] == "*Sam* (support team): Hi Jane, Sam here. Your parcel is with UPS."

"""The desk against the whole running stack: a customer is handed off, an agent answers,
resolves and hands back, and the customer carries on with the assistant.

Runs on both configurations of ``tests/e2e/conftest.py``'s ``stack`` (SQLite and SQL
queue; PostgreSQL and Redis Streams queue). Customers talk over the REST channel (they
read agents' replies in the tracker) and over the web chat's socket.io channel (the
reply is pushed to them); one agent works in headless Chromium.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

from tests.desk.conftest import Desk, DeskClient, desk_on_stack
from tests.e2e.conftest import AUTH_TOKEN, Conversation, Stack, stack  # noqa: F401
from tests.handoff.support import wait_until
from tests.support.browser import save_screenshot

pytestmark = pytest.mark.e2e

WAIT = 20.0


@pytest.fixture(scope="module")
def desk(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:  # noqa: F811
    """The agent desk on the stack's queue, talking to the stack's Rasa with its token."""
    yield from desk_on_stack(stack, tmp_path_factory.mktemp("desk"), AUTH_TOKEN)


def handed_off(stack: Stack) -> tuple[Conversation, str]:  # noqa: F811
    """A verified customer who asked for a person; returns the chat and the entry id."""
    chat = stack.conversation()
    chat.say("where is order 482913? I'm jane.doe@example.com")
    assert "human colleague" in " ".join(chat.say("I want to talk to a human"))
    [entry] = stack.queue.find_by_conversation(chat.sender)
    return chat, entry.entry_id


def claimed_by(stack: Stack, agent: DeskClient) -> tuple[Conversation, str]:  # noqa: F811
    """A conversation handed off (:func:`handed_off`) that ``agent`` has claimed."""
    chat, entry_id = handed_off(stack)
    agent.ok("POST", f"/api/entries/{entry_id}/claim")
    return chat, entry_id


def bot_events(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    return [event for event in tracker["events"] if event["event"] == "bot"]


def test_auth_claim_and_a_second_claim_on_the_running_stack(
    stack: Stack, desk: Desk  # noqa: F811
) -> None:
    chat, entry_id = handed_off(stack)
    ben, cleo = desk.agents["ben"], desk.agents["cleo"]
    anonymous = DeskClient(desk.url, "nobody", "no-such-token")

    assert anonymous.call("GET", f"/api/entries/{entry_id}").status_code == 401
    assert anonymous.post(entry_id, "claim").status_code == 401
    pending = ben.queue()["pending"]
    assert entry_id in [card["entry_id"] for card in pending]

    assert ben.ok("POST", f"/api/entries/{entry_id}/claim")["entry"]["claimed_by"] == ben.name
    second = cleo.post(entry_id, "claim")
    assert second.status_code == 409 and second.json()["error"] == "already_claimed"

    view = ben.entry(entry_id)
    assert view["transcript_source"] == "tracker" and view["conversation"]["paused"] is True
    packet = view["packet"]
    assert packet["customer"]["customer_id"] == "C1001"
    assert packet["customer"]["email"] == "j***@example.com"
    assert packet["reason"]["code"] == "customer_request"
    speakers = [turn["speaker"] for turn in view["transcript"]]
    assert speakers[0] == "customer" and "assistant" in speakers
    assert "jane.doe@example.com" not in str(view)  # masked in the live transcript too
    assert chat.tracker()["paused"] is True


def test_a_reply_reaches_the_customer_who_waits_and_the_desk_shows_their_answer(
    stack: Stack, desk: Desk  # noqa: F811
) -> None:
    ben = desk.agents["ben"]
    chat, entry_id = claimed_by(stack, ben)

    sent = ben.ok("POST", f"/api/entries/{entry_id}/reply", {"text": "Hi Jane, Ben here."})

    assert sent["sent"]["text"] == "Hi Jane, Ben here."
    tracker = chat.tracker()
    reply = bot_events(tracker)[-1]
    assert reply["text"] == "Hi Jane, Ben here."
    assert reply["metadata"]["frontline_agent"] == ben.name
    assert reply["metadata"]["handoff_entry"] == entry_id
    assert tracker["paused"] is True  # a human has the conversation

    assert chat.say("Thanks! It was due on Monday.") == []  # the bot stays quiet
    transcript = ben.entry(entry_id)["transcript"]
    assert transcript[-2] == {
        "speaker": "agent",
        "agent": ben.name,
        "text": "Hi Jane, Ben here.",
        "timestamp": transcript[-2]["timestamp"],
    }
    assert transcript[-1]["speaker"] == "customer"
    assert transcript[-1]["text"] == "Thanks! It was due on Monday."
    assert transcript[-1]["while_waiting"] is True


def test_hand_back_resumes_the_assistant_and_the_customer_carries_on(
    stack: Stack, desk: Desk  # noqa: F811
) -> None:
    cleo = desk.agents["cleo"]
    chat, entry_id = claimed_by(stack, cleo)
    cleo.ok("POST", f"/api/entries/{entry_id}/reply", {"text": "It arrives tomorrow."})

    handed_back = cleo.ok(
        "POST", f"/api/entries/{entry_id}/hand-back", {"resolution_code": "information_given"}
    )["entry"]

    assert handed_back["status"] == "resolved"
    assert handed_back["resolution_code"] == "information_given"
    timings = handed_back["timings"]
    assert timings["waiting_seconds"] >= 0 and timings["handling_seconds"] >= 0
    tracker = chat.tracker()
    assert tracker["paused"] is False
    tail = [(event["event"], event.get("name")) for event in tracker["events"][-3:]]
    assert tail == [("resume", None), ("bot", None), ("action", "action_listen")]
    assert "back with the automated assistant" in bot_events(tracker)[-1]["text"]
    # A retried hand-back changes nothing and tells the customer only once.
    again = cleo.ok(
        "POST", f"/api/entries/{entry_id}/hand-back", {"resolution_code": "information_given"}
    )
    assert again["entry"]["resolved_at"] == handed_back["resolved_at"]
    assert len(chat.tracker()["events"]) == len(tracker["events"])

    replies = chat.say("hello")
    assert replies and "automated assistant" in " ".join(replies)
    assert chat.tracker()["latest_message"]["intent"]["name"] == "greet"


def test_resolving_without_hand_back_resumes_quietly(
    stack: Stack, desk: Desk  # noqa: F811
) -> None:
    ana = desk.agents["ana"]
    chat, entry_id = claimed_by(stack, ana)
    bots_before = len(bot_events(chat.tracker()))

    resolved = ana.ok("POST", f"/api/entries/{entry_id}/resolve", {"resolution_code": "resolved"})

    assert resolved["entry"]["status"] == "resolved"
    tracker = chat.tracker()
    assert tracker["paused"] is False and len(bot_events(tracker)) == bots_before
    assert chat.say("hi") != []  # the assistant answers again
    entry = desk.queue.get(entry_id)
    assert entry is not None and entry.handling_seconds is not None


class WebChatCustomer:
    """A customer on the web chat: a socket.io client, as the page would be."""

    def __init__(self, url: str) -> None:
        self.client = socketio.Client(reconnection=False)
        self.confirmed: queue.Queue[dict[str, str]] = queue.Queue()
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.client.on("session_confirm", self.confirmed.put)
        self.client.on("bot_uttered", self.received.put)
        self.client.connect(url, transports=["websocket"], wait_timeout=WAIT)
        self.client.emit("session_request", {"session_id": None})
        session = self.confirmed.get(timeout=WAIT)
        self.session_id = session["session_id"]  # the token only this page holds
        self.conversation_id = session["conversation_id"]  # what agents see

    def say(self, text: str) -> None:
        self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})

    def wait_for(self, fragment: str) -> dict[str, Any]:
        """The first message containing ``fragment`` (bounded wait on the socket)."""
        while True:
            message = self.received.get(timeout=WAIT)
            if fragment in message.get("text", ""):
                return message

    def close(self) -> None:
        self.client.disconnect()


def test_a_web_chat_customer_gets_the_agents_reply_pushed(
    stack: Stack, desk: Desk  # noqa: F811
) -> None:
    customer = WebChatCustomer(stack.rasa.url)
    try:
        customer.say("I want to talk to a human")
        customer.wait_for("human colleague")
        [entry] = wait_until(lambda: stack.queue.find_by_conversation(customer.conversation_id))
        ben = desk.agents["ben"]
        ben.ok("POST", f"/api/entries/{entry.entry_id}/claim")

        ben.ok("POST", f"/api/entries/{entry.entry_id}/reply", {"text": "Ben here, hello!"})

        message = customer.wait_for("Ben here, hello!")
        assert message.get("sender") == "agent"
        assert ben.name not in str(message)  # customers never see the sign-in name
        ben.ok("POST", f"/api/entries/{entry.entry_id}/hand-back", {})
        customer.wait_for("back with the automated assistant")
    finally:
        customer.close()


def test_an_agent_signs_in_claims_replies_and_resolves_in_the_browser(
    stack: Stack, desk: Desk, browser: Any, request: pytest.FixtureRequest  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select, WebDriverWait

    chat, entry_id = handed_off(stack)
    chat.say("Are you still there?")  # written while waiting: the agent sees it
    agent = desk.agents["ben"]
    wait = WebDriverWait(browser, WAIT)

    browser.get(f"{desk.url}/")
    wait.until(ready.visibility_of_element_located((By.ID, "signin-name"))).send_keys(agent.name)
    browser.find_element(By.ID, "signin-password").send_keys("correct horse battery staple")
    browser.find_element(By.ID, "signin-submit").click()

    item = (By.CSS_SELECTOR, f'.queue-item[data-entry-id="{entry_id}"]')
    wait.until(ready.element_to_be_clickable(item)).click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "summary"), "order"))
    wait.until(ready.element_to_be_clickable((By.ID, "claim-button"))).click()
    wait.until(ready.visibility_of_element_located((By.ID, "reply-text"))).send_keys(
        "Hello Jane, this is Ben from support. Your parcel arrives tomorrow."
    )
    browser.find_element(By.ID, "reply-send").click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "transcript"), "this is Ben"))
    assert "while waiting" in browser.find_element(By.ID, "transcript").text
    assert "Verified" in browser.find_element(By.ID, "customer").text
    kind = request.node.callspec.params["stack"]
    save_screenshot(browser, f"desk-conversation-{kind}")

    Select(browser.find_element(By.ID, "resolution-code")).select_by_value("information_given")
    browser.find_element(By.ID, "resolve-button").click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "entry-status"), "Resolved"))
    save_screenshot(browser, f"desk-resolved-{kind}")

    entry = desk.queue.get(entry_id)
    assert entry is not None and (entry.status, entry.claimed_by) == ("resolved", agent.name)
    assert entry.resolution_code == "information_given"
    tracker = chat.tracker()
    assert tracker["paused"] is False
    assert any("this is Ben" in event.get("text", "") for event in bot_events(tracker))

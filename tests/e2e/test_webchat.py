"""The web chat in headless Chromium, holding real conversations with the running stack.

The page is served by ``python -m webchat`` and talks to the Rasa server's socket.io
channel; the customer clicks and types as a person would. Outcomes are checked in the
sandbox's order system and CRM, the handoff queue and the tracker; screenshots of each
step are saved under ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import AUTH_TOKEN, Stack
from tests.support.browser import save_screenshot
from tests.support.fake_slack import SlackCustomer, post_texts
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.e2e

REPLY_SECONDS = 60


@pytest.fixture(scope="module")
def webchat(stack: Stack, tmp_path_factory) -> Iterator[ServerProcess]:
    """``python -m webchat`` serving the chat page for the stack's Rasa server."""
    server = ServerProcess(
        "webchat",
        [sys.executable, "-m", "webchat", "--port", "{port}", "--log-level", "WARNING"],
        health_path="/health",
        log_dir=tmp_path_factory.mktemp("webchat"),
        env={"WEBCHAT_SOCKET_URL": stack.rasa.url, "WEBCHAT_STORAGE": "session"},
    ).start()
    yield server
    server.stop()


class ChatPage:
    """The chat widget on the page, driven like a customer would."""

    def __init__(self, driver: WebDriver, url: str, name: str) -> None:
        self.driver = driver
        self.url = url
        self.name = name
        self.shots = 0
        self.wait = WebDriverWait(driver, REPLY_SECONDS)

    def open(self) -> None:
        self.driver.get(self.url)
        launcher = self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".fl-launcher"))
        if launcher.get_attribute("aria-expanded") != "true":
            launcher.click()
        self.wait_connected()

    def reload(self) -> None:
        self.driver.refresh()
        self.wait_connected()

    def wait_connected(self) -> None:
        self.wait.until(
            lambda d: d.find_element(By.CSS_SELECTOR, ".fl-chat").get_attribute("data-state")
            == "connected"
        )
        self.wait.until(lambda d: d.execute_script("return FrontlineChat.sessionId()"))

    @property
    def session_id(self) -> str:
        """The session token the page keeps (the secret that continues the conversation)."""
        return str(self.driver.execute_script("return FrontlineChat.sessionId()"))

    @property
    def conversation_id(self) -> str:
        """The conversation's id in Rasa, the queue and the desk."""
        return str(self.driver.execute_script("return FrontlineChat.conversationId()"))

    def messages(self, kind: str = "bot") -> list[str]:
        items = self.driver.find_elements(By.CSS_SELECTOR, f".fl-from-{kind} .fl-bubble")
        return [item.text for item in items]

    def type(self, text: str) -> None:
        field = self.driver.find_element(By.CSS_SELECTOR, ".fl-input")
        field.send_keys(text)
        field.send_keys(Keys.ENTER)

    def wait_for(self, text: str, kind: str = "bot") -> str:
        """Waits until a message of ``kind`` contains ``text``; returns that message."""
        found = self.wait.until(
            lambda _: next((m for m in self.messages(kind) if text in m), None),
            message=f"no {kind} message with {text!r}",
        )
        return str(found)

    def say(self, text: str, expect: str) -> str:
        self.type(text)
        return self.wait_for(expect)

    def quick_replies(self) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, ".fl-quick-reply")

    def quick_reply(self, text: str) -> WebElement:
        return self.wait.until(
            lambda _: next(
                (
                    button
                    for button in self.quick_replies()
                    if text in button.text or text in (button.get_attribute("data-payload") or "")
                ),
                None,
            ),
            message=f"no quick reply {text!r}",
        )

    def screenshot(self, step: str) -> None:
        self.shots += 1
        save_screenshot(self.driver, f"{self.name}-{self.shots:02d}-{step}")


def tracker(stack: Stack, conversation_id: str) -> dict[str, Any]:
    answer = requests.get(
        f"{stack.rasa.url}/conversations/{conversation_id}/tracker",
        params={"token": AUTH_TOKEN},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()


def agent_says(stack: Stack, conversation_id: str, text: str, agent: str) -> None:
    """An agent's reply as the desk sends it: a bot event, to the latest channel."""
    answer = requests.post(
        f"{stack.rasa.url}/conversations/{conversation_id}/tracker/events",
        params={"token": AUTH_TOKEN, "output_channel": "latest", "execute_side_effects": "true"},
        json=[
            {
                "event": "bot",
                "text": text,
                # As the agent desk sends it (frontline/handoff/desk.py), with a name to show.
                "metadata": {"frontline_agent": agent.lower(), "agent_name": agent},
            }
        ],
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def test_a_customer_checks_cancels_and_reaches_a_person_in_the_browser(
    stack, webchat, browser, request
):
    page = ChatPage(browser, webchat.url, f"webchat-{request.node.callspec.id}")
    page.open()
    notice = browser.find_element(By.CSS_SELECTOR, ".fl-notice").text
    assert "automated assistant" in notice
    human = browser.find_element(By.CSS_SELECTOR, ".fl-human")
    assert human.is_displayed() and human.text == "Talk to a person"
    page.screenshot("open")

    # Verify, then check an order chosen from the quick replies.
    page.say("Where is my order?", expect="e-mail address")
    page.say("jane.doe@example.com", expect="order numbers")
    page.say("94107", expect="you're verified")
    page.wait_for("Which order")
    page.screenshot("verified")
    page.quick_reply("482913").click()
    status = page.wait_for("Order 482913")
    assert stack.order("482913")["shipment"]["tracking_number"] in status
    answered = [b.get_attribute("data-payload") or "" for b in page.quick_replies()]
    assert not [p for p in answered if "order_id" in p]  # the answered choice went away
    page.screenshot("order-status")

    # Cancel another order: the confirmation comes with buttons.
    prompt = page.say("I want to cancel order 482914", expect="Please confirm: cancel order 482914")
    assert "Yes, cancel it" in [b.text for b in page.quick_replies()]
    page.screenshot("confirmation")

    # A reload keeps the conversation: transcript, buttons and session.
    session_id, conversation_id = page.session_id, page.conversation_id
    assert conversation_id.startswith("socketio:") and conversation_id in session_id
    page.reload()
    assert page.session_id == session_id and page.conversation_id == conversation_id
    assert prompt in page.messages()
    assert page.messages("user")[:2] == ["Where is my order?", "jane.doe@example.com"]
    page.screenshot("reloaded")

    page.quick_reply("Yes, cancel it").click()
    page.wait_for("order 482914 is cancelled")
    assert stack.order("482914")["state"] == "cancelled"
    assert page.messages("user")[-1] == "Yes, cancel it"
    page.screenshot("cancelled")

    # Ask for a person with the button that is always there.
    browser.find_element(By.CSS_SELECTOR, ".fl-human").click()
    page.wait_for("human colleague")
    page.screenshot("handed-off")
    [entry] = stack.queue.find_by_conversation(conversation_id)
    packet = entry.packet
    assert packet["channel"] == "socketio" and packet["reason"]["code"] == "customer_request"
    assert packet["customer"]["customer_id"] == "C1001"
    assert [c["channel"] for c in packet["recent_contacts"] if c["current"]] == ["socketio"]

    # The agent's reply arrives in the same window, marked as a person, as plain text.
    agent_says(
        stack,
        conversation_id,
        "Hi Jane, Sam here. Your parcel: https://tracking.example.com/ups/1Z999 "
        '<img src=x onerror="window.pwned=1">',
        "Sam",
    )
    reply = page.wait_for("Sam here", kind="agent")
    assert '<img src=x onerror="window.pwned=1">' in reply
    assert browser.execute_script("return window.pwned === undefined")
    link = browser.find_element(By.CSS_SELECTOR, ".fl-from-agent a")
    assert link.get_attribute("href") == "https://tracking.example.com/ups/1Z999"
    labels = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".fl-from-agent .fl-speaker")]
    assert labels == ["Sam · human agent"]
    page.screenshot("agent-reply")

    conversation = tracker(stack, conversation_id)
    users = [e for e in conversation["events"] if e["event"] == "user"]
    assert {e["input_channel"] for e in users} == {"socketio"}
    cancels = [e for e in conversation["events"] if e.get("name") == "action_cancel_order"]
    assert len(cancels) == 1


def test_the_same_customer_on_the_web_and_on_slack_is_one_crm_customer(
    stack, webchat, browser, request
):
    page = ChatPage(browser, webchat.url, f"cross-channel-{request.node.callspec.id}")
    page.open()
    page.say("where is my order?", expect="e-mail address")
    page.say("omar.haddad@example.com", expect="order numbers")
    page.say("10001", expect="you're verified")
    page.screenshot("web-verified")
    web_conversation = page.conversation_id
    assert tracker(stack, web_conversation)["slots"]["customer_id"] == "C1002"

    omar = SlackCustomer(
        stack.rasa.url, AUTH_TOKEN, stack.slack, stack.slack_sender, user="U0OMARHADD"
    )
    omar.say("hi, where is my order? omar.haddad@example.com")
    assert "you're verified" in post_texts(omar.say("10001"))
    assert omar.tracker()["slots"]["customer_id"] == "C1002"
    assert "human colleague" in post_texts(omar.say("can I talk to a person please"))

    [entry] = stack.queue.find_by_conversation(omar.conversation_id)
    packet = entry.packet
    assert packet["channel"] == "slack" and packet["customer"]["customer_id"] == "C1002"
    contacts = {
        (c["channel"], c["conversation_id"], c["current"]) for c in packet["recent_contacts"]
    }
    assert ("slack", omar.conversation_id, True) in contacts
    assert ("socketio", web_conversation, False) in contacts
    assert "order status" in {c["topic"] for c in packet["recent_contacts"]}

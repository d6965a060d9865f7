"""The web chat's socket.io channel, over a real WebSocket, with a recording bot.

A python-socketio client plays the browser; the page's own client is tested in
headless Chromium (``tests/e2e/test_webchat.py``). The bot behind the channel answers
``echo: <text>``, so no trained model is needed.
"""

from __future__ import annotations

import queue
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import requests
import socketio

from frontline.channels.socketio import WebChatInput, new_conversation_id
from frontline.resilience import turn
from frontline.resilience.fallback import TurnFallback, dependencies_policy
from frontline.resilience.outbox import HandoffOutbox
from tests.support.channel_server import ChannelServer

WAIT = 10.0


class Browser:
    """One socket.io client, as one browser tab would be."""

    def __init__(self, url: str, origin: str | None = None) -> None:
        self.client = socketio.Client(reconnection=False)
        self.confirmed: queue.Queue[dict[str, str]] = queue.Queue()
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.client.on("session_confirm", self.confirmed.put)
        self.client.on("bot_uttered", self.received.put)
        headers = {"Origin": origin} if origin else {}
        self.client.connect(url, transports=["websocket"], headers=headers, wait_timeout=WAIT)

    def session(self, session_id: str | None = None) -> str:
        """Asks for (or to resume) a session; returns the token the page would keep."""
        self.client.emit("session_request", {"session_id": session_id})
        confirmed = self.confirmed.get(timeout=WAIT)
        self.conversation_id = confirmed["conversation_id"]
        return confirmed["session_id"]

    def say(self, text: str, session_id: str) -> None:
        self.client.emit("user_uttered", {"message": text, "session_id": session_id})

    def next_reply(self) -> dict[str, Any]:
        return self.received.get(timeout=WAIT)

    def nothing_more(self) -> bool:
        return self.received.empty()

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def webchat() -> Iterator[Callable[..., ChannelServer]]:
    started: list[ChannelServer] = []

    def start(**credentials: Any) -> ChannelServer:
        server = ChannelServer(WebChatInput.from_credentials(credentials)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def browsers() -> Iterator[Callable[..., Browser]]:
    opened: list[Browser] = []

    def open_browser(url: str, origin: str | None = None) -> Browser:
        browser = Browser(url, origin)
        opened.append(browser)
        return browser

    yield open_browser
    for browser in opened:
        browser.close()


def test_conversation_ids_are_random_and_namespaced():
    conversation_id = new_conversation_id()
    assert re.fullmatch(r"socketio:[0-9a-f]{32}", conversation_id)
    assert new_conversation_id() != conversation_id


def test_a_message_runs_in_the_session_and_the_reply_reaches_the_page(webchat, browsers):
    server = webchat()
    tab = browsers(server.url)
    session_id = tab.session()
    assert session_id == server.channel.signer.issue(tab.conversation_id)

    tab.say("where is my order?", session_id)

    [message] = server.wait_for_messages(1)
    assert message.sender_id == tab.conversation_id
    assert message.input_channel == "socketio"
    assert tab.next_reply() == {"text": "echo: where is my order?"}


def test_a_reloaded_page_resumes_its_session_and_gets_later_replies(webchat, browsers):
    server = webchat()
    first = browsers(server.url)
    session_id = first.session()
    first.close()  # the page reloads

    reloaded = browsers(server.url)
    assert reloaded.session(session_id) == session_id
    assert reloaded.conversation_id == first.conversation_id
    someone_else = browsers(server.url)
    someone_else.session()

    # An agent answers later through Rasa's API (output_channel=socketio).
    output = server.channel.get_output_channel()
    server.call(
        output.send_text_message(
            first.conversation_id, "Hi, Sam here.", sender="agent", agent_name="Sam"
        )
    )

    assert reloaded.next_reply() == {
        "text": "Hi, Sam here.",
        "sender": "agent",
        "agent_name": "Sam",
    }
    assert someone_else.nothing_more()


@pytest.mark.parametrize(
    "foreign",
    [
        "slack:U0JANEDOE1_D0JANEDOE1",  # Jane's Slack conversation id
        "U0JANEDOE1_D0JANEDOE1",  # the same, stored before namespaces
        "0123456789abcdef0123456789abcdef",  # a web chat session id of the old kind
        "v1.socketio:0123456789abcdef0123456789abcdef.forgedforgedforgedforgedforgedforgedforg",
    ],
)
def test_a_page_cannot_join_a_conversation_it_was_not_given(webchat, browsers, foreign):
    server = webchat()
    tab = browsers(server.url)
    session_id = tab.session(foreign)
    assert session_id != foreign and tab.conversation_id.startswith("socketio:")
    assert tab.conversation_id not in foreign

    tab.say("cancel my order", foreign)  # naming it in the message does not help
    assert tab.next_reply()["error"] == "session_mismatch"
    tab.say("hello", session_id)
    [message] = server.wait_for_messages(1)
    assert message.sender_id == tab.conversation_id and message.text == "hello"


def test_a_token_of_another_channels_conversation_starts_a_new_one(webchat, browsers):
    server = webchat()
    slack_token = server.channel.signer.issue("slack:U0JANEDOE1_D0JANEDOE1")
    tab = browsers(server.url)
    assert tab.session(slack_token) != slack_token
    assert tab.conversation_id.startswith("socketio:")


def test_a_message_before_the_session_request_is_refused(webchat, browsers):
    server = webchat()
    tab = browsers(server.url)
    tab.say("hello", "anything")
    assert tab.next_reply()["error"] == "no_session"
    session_id = tab.session()
    tab.say("hello again", session_id)
    [message] = server.wait_for_messages(1)
    assert message.text == "hello again"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("x" * 2001, "message_too_long"),
        ("   ", "invalid_message"),
        ("\x00\x01\x02", "binary_message"),
    ],
)
def test_unusable_messages_are_answered_and_not_run(webchat, browsers, text, error):
    server = webchat()
    tab = browsers(server.url)
    session_id = tab.session()
    tab.say(text, session_id)
    reply = tab.next_reply()
    assert reply["error"] == error and reply["text"]
    tab.say("where is my order?\x07 ", session_id)
    [message] = server.wait_for_messages(1)
    assert message.text == "where is my order?"


def test_buttons_arrive_as_quick_replies(webchat, browsers):
    server = webchat()
    tab = browsers(server.url)
    tab.session()
    output = server.channel.get_output_channel()
    server.call(
        output.send_text_with_buttons(
            tab.conversation_id,
            "Please confirm: cancel order 482914?",
            [
                {"title": "Yes, cancel it", "payload": "/affirm"},
                {"title": "No, keep it", "payload": "/deny"},
            ],
        )
    )
    reply = tab.next_reply()
    assert reply["text"] == "Please confirm: cancel order 482914?"
    assert [(q["title"], q["payload"]) for q in reply["quick_replies"]] == [
        ("Yes, cancel it", "/affirm"),
        ("No, keep it", "/deny"),
    ]


def test_only_allowed_origins_may_connect(webchat):
    server = webchat(cors_allowed_origins=["https://shop.example.com/"])
    handshake = f"{server.url}/socket.io/?EIO=4&transport=polling"

    allowed = requests.get(handshake, headers={"Origin": "https://shop.example.com"}, timeout=10)
    refused = requests.get(handshake, headers={"Origin": "https://evil.example.net"}, timeout=10)

    assert allowed.status_code == 200 and allowed.text.startswith("0{")  # engine.io "open"
    assert refused.status_code == 400


def test_every_origin_may_connect_by_default(webchat):
    server = webchat()
    handshake = f"{server.url}/socket.io/?EIO=4&transport=polling"
    answer = requests.get(handshake, headers={"Origin": "https://any.example.org"}, timeout=10)
    assert answer.status_code == 200


def test_a_reply_from_another_rasa_server_reaches_the_page_through_redis(browsers, redis_url):
    pubsub_channel = f"frontline:test:{new_conversation_id()}"
    servers = []
    for _ in range(2):
        channel = WebChatInput.from_credentials({})
        channel.redis_url, channel.redis_channel = redis_url, pubsub_channel
        servers.append(ChannelServer(channel).start())
    try:
        here, there = servers
        tab = browsers(here.url)
        tab.session()
        client = redis.Redis.from_url(redis_url)
        deadline = time.monotonic() + WAIT
        while client.pubsub_numsub(pubsub_channel)[0][1] < 1:  # "here" listens
            assert time.monotonic() < deadline, "the server never subscribed"
            time.sleep(0.05)
        client.close()

        output = there.channel.get_output_channel()
        there.call(
            output.send_text_message(tab.conversation_id, "Sam here.", frontline_agent="sam")
        )

        assert tab.next_reply() == {
            "text": "Sam here.",
            "sender": "agent",
            "agent_name": "Support team",
        }
    finally:
        for server in servers:
            server.stop()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"message": "hi \ud800"}, "invalid_encoding"),
        ({"message": "hi", "metadata": {"blob": "x" * 5000}}, "metadata_too_large"),
        ({"message": "hi", "metadata": ["not", "an", "object"]}, "invalid_metadata"),
        ("just a string", "invalid_message"),
        (["a", "list"], "invalid_message"),
        ({"message": {"text": "hi"}}, "invalid_message"),
    ],
    ids=["lone-surrogate", "big-metadata", "list-metadata", "string", "list", "object-message"],
)
def test_hostile_messages_get_an_error_and_the_connection_stays(webchat, browsers, data, error):
    server = webchat()
    tab = browsers(server.url)
    session_id = tab.session()
    tab.client.emit("user_uttered", data)
    assert tab.next_reply()["error"] == error
    tab.say("still here", session_id)
    [message] = server.wait_for_messages(1)
    assert message.text == "still here"


def test_packets_nested_too_deep_never_reach_the_decoder(webchat, browsers):
    server = webchat()
    tab = browsers(server.url)
    session_id = tab.session()
    # Written by hand: no client library encodes this deep, or sends the rest at all.
    hostile = [
        '2["user_uttered",' + "[" * 5000 + "]" * 5000 + "]",
        '2["user_uttered",{"message": "hi", "n": 1e999999, "x": ' + "9" * 5000 + "}]",
        # A binary event (later messages would be taken for its attachments), an unknown
        # packet type, an event named by a list.
        '51-["user_uttered",{"_placeholder":true,"num":0}]',
        "9?",
        '2[["x"],1]',
        "",
    ]
    for packet in hostile:
        tab.client.eio.send(packet)
    errors = sorted(tab.next_reply()["error"] for _ in hostile)  # handled concurrently
    assert errors == ["invalid_json"] * 2 + ["invalid_packet"] * 4
    tab.say("still here", session_id)
    [message] = server.wait_for_messages(1)
    assert message.text == "still here"


def test_a_page_sending_too_fast_is_told_to_slow_down(browsers):
    from frontline.channels.admission import Admission, load_limits
    from frontline.channels.ratelimit import Bucket, MemoryRateLimiter
    from frontline.channels.sessions import SessionSigner
    from frontline.settings import Settings

    limits = load_limits(Settings())
    limits = type(limits)(**{**limits.__dict__, "conversation": Bucket(2, 0.001)})
    channel = WebChatInput(
        signer=SessionSigner(b"w" * 32), admission=Admission(limits, MemoryRateLimiter())
    )
    server = ChannelServer(channel).start()
    try:
        tab = browsers(server.url)
        session_id = tab.session()
        for text in ("one", "two", "three"):
            tab.say(text, session_id)
        replies = [tab.next_reply() for _ in range(3)]  # two echoes and one refusal
        [refusal] = [reply for reply in replies if "error" in reply]
        assert refusal["error"] == "rate_limited" and refusal["retry_after"] >= 1
        assert [m.text for m in server.wait_for_messages(2)] == ["one", "two"]
    finally:
        server.stop()


def test_a_failed_turn_is_answered_on_the_page_and_handed_off(browsers, tmp_path, monkeypatch):
    outbox = HandoffOutbox(f"sqlite:///{tmp_path / 'outbox.db'}")
    fallback = TurnFallback(outbox, dependencies_policy())
    monkeypatch.setattr("frontline.channels.turns.turn_fallback", lambda: fallback)

    async def action_server_down(message: Any) -> None:
        turn.note(turn.ACTION_SERVER, "action_handoff: connection refused")  # as the patch

    server = ChannelServer(WebChatInput.from_credentials({}), action_server_down).start()
    try:
        tab = browsers(server.url)
        tab.say("I need a person", tab.session())
        reply = tab.next_reply()
    finally:
        server.stop()
    [recorded] = outbox.waiting()
    assert reply == {
        "text": dependencies_policy().handoff_recorded.format(reference=recorded.reference)
    }
    assert recorded.conversation_id == tab.conversation_id
    assert recorded.packet["reason"]["code"] == "dependency_down"

"""The Slack webhook itself: signatures, retries, conversation ids and where replies go.

The real channel (``frontline.channels.slack.SlackChannel``) serves its webhook over
HTTP; Slack's side is faked: requests are signed as Slack signs them, replies go to a
local Web API that records ``chat.postMessage``. The bot behind the channel answers
``echo: <text>``, so these tests need no trained model (the full conversations are in
``test_slack_conversations.py``).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any

import pytest
import requests

from frontline.channels.slack import SlackChannel
from frontline.channels.slack_events import read_event, read_interaction
from frontline.channels.store import MemoryChannelStore
from frontline.resilience.fallback import TurnFallback, dependencies_policy
from frontline.resilience.outbox import HandoffOutbox
from frontline.settings import Settings
from tests.support.channel_server import ChannelServer
from tests.support.fake_slack import SlackSender

USER = "U0CUSTOMER"
DM = "D0CUSTOMER"
SUPPORT = "C0SUPPORT"


def echoes(app, since: int, count: int = 1) -> list[dict]:
    """Waits for ``count`` replies posted since the mark."""
    return app.slack.wait_for_posts(lambda posts: len(posts) >= count, since=since)


# -- signatures --------------------------------------------------------------------------


def test_a_signed_message_is_run_and_answered(slack_app):
    app = slack_app()
    mark = app.slack.mark()

    answer = app.send(app.sender.message(USER, "where is my order?", channel=DM))

    assert answer.status_code == 200
    [message] = app.server.wait_for_messages(1)
    assert message.text == "where is my order?"
    assert message.input_channel == "slack"
    [post] = echoes(app, mark)
    assert post["text"] == "echo: where is my order?" and post["channel"] == DM


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda s, r: s.sign(r.body, "application/json", secret="guess"), id="secret"),
        pytest.param(
            lambda s, r: s.sign(r.body, "application/json", timestamp=time.time() - 301),
            id="5-minutes-old",
        ),
        pytest.param(
            lambda s, r: s.sign(r.body, "application/json", timestamp=time.time() + 301),
            id="5-minutes-ahead",
        ),
        pytest.param(
            lambda s, r: type(r)(r.body.replace(b"order", b"ORDER"), r.headers), id="tampered"
        ),
        pytest.param(
            lambda s, r: type(r)(r.body, {"Content-Type": "application/json"}), id="unsigned"
        ),
    ],
)
def test_forged_or_stale_requests_are_refused(slack_app, forge):
    app = slack_app()
    mark = app.slack.mark()
    genuine = app.sender.message(USER, "cancel my order", channel=DM)

    answer = app.send(forge(app.sender, genuine))

    assert answer.status_code == 400
    assert "signed" in answer.text
    # Nothing ran, nothing was posted; the genuine request still runs afterwards.
    assert app.send(genuine).status_code == 200
    [message] = app.server.wait_for_messages(1)
    assert message.text == "cancel my order"
    assert len(echoes(app, mark)) == 1


def test_a_request_inside_the_window_is_accepted(slack_app):
    app = slack_app()
    body = app.sender.message(USER, "hi", channel=DM).body
    late = app.sender.sign(body, "application/json", timestamp=time.time() - 240)
    assert app.send(late).status_code == 200
    app.server.wait_for_messages(1)


def test_without_a_signing_secret_every_request_is_refused(slack_app):
    app = slack_app(slack_signing_secret="")
    request = app.sender.sign(
        app.sender.event_body({"type": "message", "user": USER, "text": "hi", "channel": DM}),
        "application/json",
        secret="",
    )
    assert app.send(request).status_code == 400
    assert app.server.messages == []


def test_the_url_verification_challenge_is_answered_when_signed(slack_app):
    app = slack_app()
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1a", "token": "x"})
    signed = app.sender.sign(body.encode(), "application/json")
    answer = app.send(signed)
    assert answer.status_code == 200 and answer.json() == {"challenge": "3eZbrw1a"}

    forged = app.sender.sign(body.encode(), "application/json", secret="guess")
    assert app.send(forged).status_code == 400


# -- retries -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason", ["http_timeout", "http_error", "connection_failed", "unknown_error", "ssl_error"]
)
def test_a_retried_delivery_runs_once_whatever_the_reason(slack_app, reason):
    app = slack_app()
    mark = app.slack.mark()
    event = app.sender.message_event(USER, "yes, cancel it", channel=DM)
    body = app.sender.event_body(event)

    first = app.send(app.sender.sign(body, "application/json"))
    retries = [
        app.send(app.sender.sign(body, "application/json", retry=(number, reason)))
        for number in (1, 2, 3)
    ]

    assert first.status_code == 200
    assert [r.status_code for r in retries] == [200, 200, 200]
    assert all(r.headers.get("X-Slack-No-Retry") == "1" for r in retries)
    assert len(app.server.wait_for_messages(1)) == 1
    assert len(echoes(app, mark)) == 1
    # Another message in the same conversation still runs.
    app.send(app.sender.message(USER, "thanks", channel=DM))
    assert [m.text for m in app.server.wait_for_messages(2)] == ["yes, cancel it", "thanks"]


def test_a_retry_of_a_delivery_that_never_arrived_runs(slack_app):
    app = slack_app()
    lost = app.sender.message(USER, "hello?", channel=DM, retry=(1, "connection_failed"))
    assert app.send(lost).status_code == 200
    [message] = app.server.wait_for_messages(1)
    assert message.text == "hello?"


def test_concurrent_twins_run_once(slack_app):
    app = slack_app()
    body = app.sender.event_body(app.sender.message_event(USER, "cancel 482914", channel=DM))
    requests_ = [app.sender.sign(body, "application/json")] + [
        app.sender.sign(body, "application/json", retry=(n, "http_timeout")) for n in (1, 2, 3)
    ]
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda r=r: answers.append(app.send(r).status_code))
        for r in requests_
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)

    assert answers == [200, 200, 200, 200]
    app.server.wait_for_messages(1)
    assert [m.text for m in app.server.messages] == ["cancel 482914"]


def test_a_mention_delivered_as_message_and_app_mention_runs_once(slack_app):
    app = slack_app()
    ts = app.sender.next_ts()
    text = "<@U0FRONTBOT> where is my order?"
    as_message = app.sender.message(USER, text, channel=SUPPORT, channel_type="channel", ts=ts)
    as_mention = app.sender.message(USER, text, channel=SUPPORT, ts=ts, kind="app_mention")
    app.send(as_mention)
    app.send(as_message)

    [message] = app.server.wait_for_messages(1)
    assert message.text == "where is my order?"  # the bot's own mention is removed
    assert len(app.server.messages) == 1


def test_a_retried_button_click_runs_once(slack_app):
    app = slack_app()
    click = app.sender.click(USER, "/affirm", channel=DM, message_ts=app.sender.next_ts())
    retried = type(click)(
        click.body, click.headers | {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    )
    assert app.send(click).status_code == 200
    assert app.send(retried).status_code == 200
    [message] = app.server.wait_for_messages(1)
    assert message.text == "/affirm" and message.sender_id == f"slack:{USER}_{DM}"
    assert len(app.server.messages) == 1


def test_delivery_keys_name_the_message_or_the_click():
    event = {"type": "message", "user": "U1", "text": "hi", "channel": "D1", "channel_type": "im"}
    envelope = {"team_id": "T1", "event_id": "Ev1", "event": event | {"ts": "1.000100"}}
    assert read_event(envelope, None).delivery_key == "slack:message:T1:D1:1.000100"
    assert read_event({"event_id": "Ev1", "event": event}, None).delivery_key == "slack:event:Ev1"
    assert read_event({"event": event}, None).delivery_key is None
    button = {"type": "button", "value": "/affirm"}
    click = {"team": {"id": "T1"}, "user": {"id": "U1"}, "actions": [button | {"action_ts": "2.5"}]}
    assert read_interaction(click).delivery_key == "slack:action:T1:U1:2.5"
    trigger = {"trigger_id": "t1", "user": {"id": "U1"}, "actions": [button]}
    assert read_interaction(trigger).delivery_key == "slack:trigger:t1"
    assert read_interaction({"user": {"id": "U1"}, "actions": [button]}).delivery_key is None


def test_the_delivery_memory_is_shared_by_channels_on_one_store(slack_app):
    """Two Rasa servers behind one store (Redis in production): a retry runs on neither."""
    store = MemoryChannelStore()
    first, second = slack_app(store=store), slack_app(store=store)
    second.sender.signing_secret = first.sender.signing_secret
    second.channel.slack_signing_secret = first.channel.slack_signing_secret
    body = first.sender.event_body(first.sender.message_event(USER, "hi", channel=DM))
    first.send(first.sender.sign(body, "application/json"))
    second.send(second.sender.sign(body, "application/json", retry=(1, "http_timeout")))
    first.server.wait_for_messages(1)
    assert second.server.messages == []


# -- conversations and threads -------------------------------------------------------------


def _conversation_of(app, **event) -> str:
    before = len(app.server.messages)
    app.send(app.sender.message(**event))
    return app.server.wait_for_messages(before + 1)[-1].sender_id


def test_sender_granularity_is_one_conversation_per_person(slack_app):
    app = slack_app(conversation_granularity="sender")
    in_dm = _conversation_of(app, user=USER, text="hi", channel=DM)
    in_channel = _conversation_of(app, user=USER, text="hi", channel=SUPPORT, kind="app_mention")
    assert in_dm == in_channel == f"slack:{USER}"


def test_channel_granularity_is_one_conversation_per_person_and_channel(slack_app):
    app = slack_app(conversation_granularity="channel")
    first = app.sender.next_ts()
    in_dm = _conversation_of(app, user=USER, text="hi", channel=DM, ts=first)
    in_thread = _conversation_of(app, user=USER, text="again", channel=DM, thread_ts=first)
    in_channel = _conversation_of(app, user=USER, text="hi", channel=SUPPORT, kind="app_mention")
    other_person = _conversation_of(
        app, user="U0SOMEONE", text="hi", channel=SUPPORT, kind="app_mention"
    )
    assert in_dm == in_thread == f"slack:{USER}_{DM}"
    assert in_channel == f"slack:{USER}_{SUPPORT}"
    assert other_person == f"slack:U0SOMEONE_{SUPPORT}"


def test_thread_granularity_is_one_conversation_per_thread(slack_app):
    app = slack_app(conversation_granularity="thread")
    top = app.sender.next_ts()
    started = _conversation_of(app, user=USER, text="hi", channel=DM, ts=top)
    replied = _conversation_of(app, user=USER, text="more", channel=DM, thread_ts=top)
    fresh = _conversation_of(app, user=USER, text="new topic", channel=DM)
    assert started == replied == f"slack:{USER}_{DM}_{top}"
    assert fresh != started and fresh.startswith(f"slack:{USER}_{DM}_")


def test_with_threads_replies_go_in_the_thread_of_the_message(slack_app):
    app = slack_app(use_threads=True)
    top = app.sender.next_ts()
    mark = app.slack.mark()
    app.send(app.sender.message(USER, "hi", channel=SUPPORT, ts=top, kind="app_mention"))
    app.send(app.sender.message(USER, "and?", channel=SUPPORT, thread_ts=top, kind="app_mention"))
    posts = echoes(app, mark, count=2)
    assert [(p["channel"], p["thread_ts"]) for p in posts] == [(SUPPORT, top), (SUPPORT, top)]


def test_without_threads_replies_go_in_the_channel(slack_app):
    app = slack_app(use_threads=False)
    mark = app.slack.mark()
    app.send(app.sender.message(USER, "hi", channel=DM))
    [post] = echoes(app, mark)
    assert post["channel"] == DM and "thread_ts" not in post


# -- replies outside a request (an agent's, through Rasa's API) ------------------------------


def test_an_agents_reply_goes_to_the_conversations_channel_and_thread(slack_app):
    app = slack_app(conversation_granularity="channel", use_threads=True)
    top = app.sender.next_ts()
    before = app.slack.mark()
    app.send(
        app.sender.message(USER, "a person please", channel=SUPPORT, ts=top, kind="app_mention")
    )
    [message] = app.server.wait_for_messages(1)
    echoes(app, before)  # the bot's own answer
    mark = app.slack.mark()

    output = app.channel.get_output_channel()  # what output_channel=latest gets
    app.server.call(
        output.send_text_message(
            message.sender_id,
            "Hi, I'm looking at your order now.",
            sender="agent",
            agent_name="Sam",
        )
    )

    [post] = app.slack.posts(mark)
    assert post["channel"] == SUPPORT and post["thread_ts"] == top
    assert post["text"] == "*Sam* (support team): Hi, I'm looking at your order now."


@pytest.mark.parametrize(
    ("granularity", "conversation", "channel", "thread"),
    [
        ("channel", f"slack:{USER}_C0ELSEWHERE", "C0ELSEWHERE", None),
        (
            "thread",
            f"slack:{USER}_C0ELSEWHERE_1700000000.000100",
            "C0ELSEWHERE",
            "1700000000.000100",
        ),
        ("sender", f"slack:{USER}", USER, None),  # the customer's DMs, never SLACK_CHANNEL
        ("channel", f"{USER}_C0ELSEWHERE", "C0ELSEWHERE", None),  # stored before namespaces
    ],
)
def test_a_reply_to_a_conversation_not_seen_since_a_restart_still_finds_it(
    slack_app, granularity, conversation, channel, thread
):
    app = slack_app(conversation_granularity=granularity, slack_channel=SUPPORT)
    mark = app.slack.mark()
    app.server.call(app.channel.get_output_channel().send_text_message(conversation, "Hello"))
    [post] = app.slack.posts(mark)
    assert post["channel"] == channel and post.get("thread_ts") == thread


def test_buttons_are_posted_as_blocks_and_a_click_comes_back_as_the_payload(slack_app):
    app = slack_app()
    top = app.sender.next_ts()
    before = app.slack.mark()
    app.send(app.sender.message(USER, "cancel it", channel=DM, ts=top))
    [message] = app.server.wait_for_messages(1)
    echoes(app, before)  # the bot's own answer
    mark = app.slack.mark()
    app.server.call(
        message.output_channel.send_text_with_buttons(
            message.sender_id,
            "Please confirm: cancel order 482914?",
            [{"title": "Yes, cancel it", "payload": "/affirm"}],
        )
    )
    [post] = app.slack.posts(mark)
    assert post["thread_ts"] == top
    assert post["blocks"][1]["elements"][0]["value"] == "/affirm"

    app.send(
        app.sender.click(
            USER, "/affirm", channel=DM, message_ts=app.sender.next_ts(), thread_ts=top
        )
    )
    assert app.server.wait_for_messages(2)[-1].text == "/affirm"


# -- the text --------------------------------------------------------------------------------


def test_an_oversized_message_is_answered_and_not_run(slack_app):
    app = slack_app()
    mark = app.slack.mark()
    app.send(app.sender.message(USER, "x" * 3000, channel=DM))
    [post] = echoes(app, mark)
    assert "at most 2,000 characters" in post["text"]
    app.send(app.sender.message(USER, "  where is my\u200b order?\x07 ", channel=DM))
    [message] = app.server.wait_for_messages(1)
    assert message.text == "where is my order?"  # control characters removed


def test_the_web_api_url_is_configurable():
    assert Settings.from_env({}).slack_api_url == "https://slack.com/api/"
    assert Settings.from_env({"SLACK_API_URL": "http://127.0.0.1:9/api/"}).slack_api_url == (
        "http://127.0.0.1:9/api/"
    )
    channel = SlackChannel.from_credentials(
        {"slack_token": "xoxb-1", "slack_signing_secret": "s", "slack_api_url": "http://x/api/"}
    )
    assert channel.get_output_channel("C1").client.base_url == "http://x/api/"


def test_an_unknown_granularity_is_a_configuration_error():
    with pytest.raises(ValueError, match="conversation_granularity"):
        SlackChannel.from_credentials(
            {"slack_token": "x", "slack_signing_secret": "s", "conversation_granularity": "team"}
        )


# -- bodies Slack would never send, signed all the same -------------------------------------

HOSTILE_BODIES = {
    "deep": (b'{"event": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json", "too_deep"),
    "not-an-object": (b"[1, 2, 3]", "application/json", "invalid_slack_request"),
    "event-a-list": (b'{"event": [1]}', "application/json", "invalid_slack_request"),
    "user-an-object": (
        json.dumps(
            {"event": {"type": "message", "text": "hi", "user": {"id": 1}, "channel": DM}}
        ).encode(),
        "application/json",
        "invalid_slack_request",
    ),
    "lone-surrogate-user": (
        b'{"event": {"type": "message", "text": "hi", "user": "\\ud800", "channel": "D1"}}',
        "application/json",
        "invalid_slack_request",
    ),
    "text-a-number": (
        json.dumps({"event": {"type": "message", "text": 5, "user": USER, "channel": DM}}).encode(),
        "application/json",
        "invalid_slack_request",
    ),
    "form-without-payload": (
        b"a=1&b=2",
        "application/x-www-form-urlencoded",
        "invalid_slack_request",
    ),
    "form-deep-payload": (
        b"payload=" + b"%5B" * 5000 + b"%5D" * 5000,
        "application/x-www-form-urlencoded",
        "invalid_slack_request",
    ),
    "not-utf8": (b"\xff\xfe", "application/json", "invalid_encoding"),
    "xml": (b"<event/>", "application/xml", "unsupported_media_type"),
}


@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_a_signed_body_of_the_wrong_shape_gets_a_4xx_not_a_500(slack_app, name):
    app = slack_app()
    body, content_type, error = HOSTILE_BODIES[name]
    answer = app.send(app.sender.sign(body, content_type))
    assert 400 <= answer.status_code < 500 and answer.json()["error"] == error
    assert app.server.messages == []
    assert app.send(app.sender.message(USER, "still here", channel=DM)).status_code == 200
    [message] = app.server.wait_for_messages(1)
    assert message.text == "still here"


def test_a_message_with_a_lone_surrogate_is_answered_and_not_run(slack_app):
    app = slack_app()
    mark = app.slack.mark()
    event = app.sender.message_event(USER, "placeholder", channel=DM)
    body = app.sender.event_body(event).replace(b"placeholder", b"hi \\ud800")
    assert app.send(app.sender.sign(body, "application/json")).status_code == 200
    [post] = echoes(app, mark)
    assert "not valid text" in post["text"]
    assert app.server.messages == []


# -- a dependency down -------------------------------------------------------------------


def test_a_failed_turn_is_answered_in_slack_and_handed_off(fake_slack, tmp_path, monkeypatch):
    outbox = HandoffOutbox(f"sqlite:///{tmp_path / 'outbox.db'}")
    fallback = TurnFallback(outbox, dependencies_policy())
    monkeypatch.setattr("frontline.channels.turns.turn_fallback", lambda: fallback)

    async def lock_store_down(message: Any) -> None:
        raise ConnectionError("Redis unreachable")

    secret = secrets.token_hex(16)
    channel = SlackChannel.from_credentials(
        {
            "slack_token": fake_slack.token,
            "slack_signing_secret": secret,
            "slack_api_url": fake_slack.url,
            "use_threads": True,
            "conversation_granularity": "channel",
        }
    )
    server = ChannelServer(channel, lock_store_down).start()
    try:
        mark = fake_slack.mark()
        request = SlackSender(secret).message(USER, "I need a person", channel=DM)
        answer = requests.post(
            server.webhook, data=request.body, headers=request.headers, timeout=10
        )
        assert answer.status_code == 200
        [post] = fake_slack.wait_for_posts(lambda posts: len(posts) >= 1, since=mark)
    finally:
        server.stop()
    [recorded] = outbox.waiting()
    assert post["channel"] == DM
    assert post["text"] == dependencies_policy().handoff_recorded.format(
        reference=recorded.reference
    )
    assert recorded.conversation_id.startswith("slack:")
    assert recorded.packet["reason"]["code"] == "dependency_down"

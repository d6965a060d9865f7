"""The REST channel over real HTTP: session tokens, namespaces, checks and limits.

The channel's own blueprint on a real Sanic server (``tests/support/channel_server``),
with a recording bot behind it, so no trained model is needed; the whole stack is in
``tests/e2e/test_channel_security.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from rasa.core.channels.channel import UserMessage

from frontline.channels.admission import Admission, LimitsPolicy
from frontline.channels.ratelimit import Bucket, MemoryRateLimiter
from frontline.channels.rest import GuardedRestInput
from frontline.channels.sessions import TOKEN_HEADER, SessionSigner
from frontline.resilience import turn
from frontline.resilience.fallback import TurnFallback, dependencies_policy
from frontline.resilience.outbox import HandoffOutbox
from frontline.settings import Settings
from tests.support.channel_server import ChannelServer

SECRET = b"s" * 32


def policy(**changes: Any) -> LimitsPolicy:
    from frontline.channels.admission import load_limits

    base = load_limits(Settings())
    return LimitsPolicy(**{**base.__dict__, **changes})


@pytest.fixture
def rest() -> Iterator[Callable[..., ChannelServer]]:
    started: list[ChannelServer] = []

    def start(limits: LimitsPolicy | None = None, reply: Any = None) -> ChannelServer:
        channel = GuardedRestInput(
            SessionSigner(SECRET), Admission(limits or policy(), MemoryRateLimiter())
        )
        server = ChannelServer(channel, reply).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def post(server: ChannelServer, payload: Any = None, token: str | None = None, **kw: Any):
    headers = {TOKEN_HEADER: token} if token else {}
    return requests.post(server.webhook, json=payload, headers=headers, timeout=10, **kw)


def test_the_first_answer_carries_a_token_that_continues_the_conversation(rest):
    server = rest()
    first = post(server, {"sender": "jane", "message": "hi"})
    assert first.status_code == 200
    assert first.json() == [{"recipient_id": "jane", "text": "echo: hi"}]
    token = first.headers[TOKEN_HEADER]

    again = post(server, {"sender": "jane", "message": "where is my order?"}, token)
    in_body = post(server, {"sender": "jane", "message": "thanks", "session_token": token})

    assert again.status_code == in_body.status_code == 200
    assert [m.sender_id for m in server.wait_for_messages(3)] == ["rest:jane"] * 3
    assert [m.input_channel for m in server.messages] == ["rest"] * 3


def test_without_the_token_the_conversation_cannot_be_continued(rest):
    server = rest()
    token = post(server, {"sender": "jane", "message": "hi"}).headers[TOKEN_HEADER]
    other = post(server, {"sender": "mallory", "message": "hi"}).headers[TOKEN_HEADER]

    missing = post(server, {"sender": "jane", "message": "cancel my order"})
    wrong = post(server, {"sender": "jane", "message": "cancel my order"}, other)
    forged = post(server, {"sender": "jane", "message": "cancel my order"}, token[:-2] + "xx")

    assert (missing.status_code, missing.json()["error"]) == (401, "session_required")
    assert (wrong.status_code, wrong.json()["error"]) == (403, "session_mismatch")
    assert (forged.status_code, forged.json()["error"]) == (403, "session_mismatch")
    assert all(r.json()["message"] and TOKEN_HEADER not in r.headers for r in (missing, wrong))
    # Nothing of Mallory's reached Jane's conversation.
    assert [(m.sender_id, m.text) for m in server.wait_for_messages(2)] == [
        ("rest:jane", "hi"),
        ("rest:mallory", "hi"),
    ]


@pytest.mark.parametrize(
    "claimed",
    ["slack:U0JANE_D0JANE", "U0JANE_D0JANE", "socketio:" + "a" * 32, "rest:jane"],
)
def test_a_rest_caller_cannot_name_another_channels_conversation(rest, claimed):
    server = rest()
    answer = post(server, {"sender": claimed, "message": "hi", "input_channel": "slack"})
    assert answer.status_code == 200
    [message] = server.wait_for_messages(1)
    assert message.sender_id.startswith("rest:") and message.sender_id != claimed
    assert message.input_channel == "rest"  # never the channel the caller claims


@pytest.mark.parametrize(
    "payload, status, error",
    [
        ({"sender": "\ud800", "message": "hi"}, 400, "invalid_encoding"),
        (
            {"sender": "a", "message": "hi", "metadata": {"blob": "x" * 5000}},
            413,
            "metadata_too_large",
        ),
        ({"sender": "a\x00", "message": "hi"}, 400, "invalid_sender"),
    ],
    ids=["lone-surrogate", "big-metadata", "nul-sender"],
)
def test_unusable_requests_get_a_4xx_and_reach_no_one(rest, payload, status, error):
    server = rest()
    answer = requests.post(
        server.webhook,
        data=__import__("json").dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    assert post(server, {"sender": "a", "message": "still here"}).status_code == 200
    assert [m.text for m in server.wait_for_messages(1)] == ["still here"]


def test_deep_and_huge_bodies_are_refused_before_parsing(rest):
    server = rest()
    deep = b'{"sender": "a", "message": "hi", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    huge = b'{"sender": "a", "message": "' + b"x" * 200_000 + b'"}'
    answers = [requests.post(server.webhook, data=body, timeout=10) for body in (deep, huge)]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [
        (400, "too_deep"),
        (413, "request_too_large"),
    ]
    assert server.messages == []


@pytest.fixture
def outbox(tmp_path, monkeypatch) -> HandoffOutbox:
    """The handoff outbox the channels record failed turns in, on a fresh database."""
    box = HandoffOutbox(f"sqlite:///{tmp_path / 'outbox.db'}")
    fallback = TurnFallback(box, dependencies_policy())
    monkeypatch.setattr("frontline.channels.turns.turn_fallback", lambda: fallback)
    return box


def test_a_failing_turn_tells_the_customer_and_records_a_handoff(rest, outbox):
    async def broken(message: UserMessage) -> None:
        raise SystemExit(1)  # what Rasa's SQL tracker store does on a ValueError

    server = rest(reply=broken)
    answer = post(server, {"sender": "jane", "message": "talk to a person"})
    [recorded] = outbox.of_conversation("rest:jane")
    assert answer.status_code == 200
    assert answer.json() == [
        {
            "recipient_id": "jane",
            "text": dependencies_policy().handoff_recorded.format(reference=recorded.reference),
        }
    ]
    assert TOKEN_HEADER in answer.headers  # the conversation may exist: keep the key
    assert recorded.packet["reason"]["code"] == "dependency_down"
    assert recorded.packet["last_turns"][-1]["text"] == "talk to a person"
    assert "tracker_store" in recorded.packet["reason"]["rationale"]
    # The server is still there for everyone; a second message waits on the same handoff.
    again = post(server, {"sender": "jane", "message": "hello?"}, answer.headers[TOKEN_HEADER])
    assert recorded.reference in again.json()[0]["text"]
    assert len(outbox.of_conversation("rest:jane")) == 1
    assert post(server, {"sender": "ken", "message": "hi"}).status_code == 200


def test_handoffs_recorded_in_an_outage_count_against_the_unverified_cap(rest, outbox):
    async def broken(message: UserMessage) -> None:
        raise RuntimeError("lock store down")

    server = rest(policy(unverified_handoffs=Bucket(1, 0.001)), reply=broken)
    post(server, {"sender": "first", "message": "a person please"})
    refused = post(server, {"sender": "second", "message": "a person please"})
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_handoffs"


def test_silence_after_a_failed_action_is_answered_too(rest, outbox):
    async def action_server_down(message: UserMessage) -> None:
        turn.note(turn.ACTION_SERVER, "action_handoff: connection refused")  # as the patch does

    server = rest(reply=action_server_down)
    [reply] = post(server, {"sender": "jane", "message": "where is my order?"}).json()
    [recorded] = outbox.of_conversation("rest:jane")
    assert recorded.reference in reply["text"]
    assert "action_server" in recorded.packet["reason"]["rationale"]


def test_without_the_outbox_the_customer_is_asked_to_try_again(rest, monkeypatch):
    unreachable = HandoffOutbox("sqlite:////proc/no/such/folder/outbox.db")
    fallback = TurnFallback(unreachable, dependencies_policy())
    monkeypatch.setattr("frontline.channels.turns.turn_fallback", lambda: fallback)

    async def broken(message: UserMessage) -> None:
        raise RuntimeError("lock store down")

    server = rest(reply=broken)
    answer = post(server, {"sender": "jane", "message": "hi"})
    assert answer.json() == [{"recipient_id": "jane", "text": dependencies_policy().try_again}]


def test_messages_faster_than_the_conversation_limit_get_429(rest):
    server = rest(policy(conversation=Bucket(2, 0.001)))
    token = post(server, {"sender": "jane", "message": "1"}).headers[TOKEN_HEADER]
    post(server, {"sender": "jane", "message": "2"}, token)
    third = post(server, {"sender": "jane", "message": "3"}, token)
    assert third.status_code == 429 and third.json()["error"] == "rate_limited"
    assert int(third.headers["Retry-After"]) >= 1
    # Another conversation of the same client is not held up.
    assert post(server, {"sender": "ken", "message": "hi"}).status_code == 200
    assert [m.text for m in server.wait_for_messages(3)] == ["1", "2", "hi"]


def test_a_client_starting_too_many_conversations_gets_429(rest):
    server = rest(policy(new_conversations=Bucket(3, 0.001)))
    answers = [post(server, {"sender": f"c{n}", "message": "hi"}) for n in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[-1].json()["error"] == "too_many_conversations"


async def hands_off(message: UserMessage) -> None:
    """A bot that hands every conversation to a person (the response Rasa would send)."""
    await message.output_channel.send_response(
        message.sender_id, {"text": "A colleague will reply.", "utter_action": "utter_handoff"}
    )


def test_a_client_past_the_cap_of_unverified_handoffs_cannot_start_more(rest):
    server = rest(policy(unverified_handoffs=Bucket(2, 0.0001)), reply=hands_off)
    first = post(server, {"sender": "c1", "message": "a person please"})
    post(server, {"sender": "c2", "message": "a person please"})

    third = post(server, {"sender": "c3", "message": "a person please"})

    assert third.status_code == 429 and third.json()["error"] == "too_many_handoffs"
    assert "try again in about" in third.json()["message"]  # and how else to reach us
    assert "support@frontline.example" in third.json()["message"]
    # A conversation already open goes on.
    token = first.headers[TOKEN_HEADER]
    assert post(server, {"sender": "c1", "message": "are you there?"}, token).status_code == 200
    assert [m.sender_id for m in server.wait_for_messages(3)] == ["rest:c1", "rest:c2", "rest:c1"]

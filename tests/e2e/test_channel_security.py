"""What an outsider sends through the channels, against the whole running stack.

Issue 16, findings 1, 3, 6 and 11, each checked on both configurations of
``tests/e2e/conftest.py``'s ``stack`` (SQLite; PostgreSQL and Redis):

* one request cannot stop the Rasa server (a lone surrogate in ``sender`` did);
* a conversation cannot be continued or steered by someone without its token, nor
  reached from another channel; replies go out on the conversation's own channel;
* conversation ids with any character round-trip between the desk and Rasa;
* anonymous input is bounded: metadata, one open handoff per conversation, and a cap
  on handoffs of unverified conversations per client (a server with the production
  limits, ``policies/limits.yml``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa

from frontline.channels.ids import conversation_id
from frontline.channels.sessions import TOKEN_HEADER
from frontline.db import session_scope
from tests.desk.conftest import Desk, desk_on_stack
from tests.e2e.conftest import AUTH_TOKEN, MODEL, Conversation, Stack
from tests.handoff.support import wait_until
from tests.support.ids import AWKWARD_IDS
from tests.support.processes import REPO_ROOT, ServerProcess, rasa_server_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def desk(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The agent desk on the stack's queue, talking to the stack's Rasa with its token."""
    yield from desk_on_stack(stack, tmp_path_factory.mktemp("desk"), AUTH_TOKEN)


def webhook(stack: Stack) -> str:
    return f"{stack.rasa.url}/webhooks/rest/webhook"


def raw_post(stack: Stack, body: bytes, **headers: str) -> requests.Response:
    return requests.post(
        webhook(stack),
        data=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=60,
    )


def alive(stack: Stack) -> bool:
    chat = stack.conversation()
    return bool(chat.say("hi")) and stack.rasa.pid is not None


def stored_senders(stack: Stack, marker: str) -> set[str]:
    """Conversation ids in the tracker store that contain ``marker``."""
    with session_scope(stack.env["TRACKER_STORE_URL"]) as session:
        rows = session.execute(
            sa.text("SELECT DISTINCT sender_id FROM events WHERE sender_id LIKE :marker"),
            {"marker": f"%{marker}%"},
        )
        return {row[0] for row in rows}


# -- finding 1: one request cannot stop or wedge the server ---------------------------------


@pytest.mark.parametrize(
    "body, status, error",
    [
        (b'{"sender": "\\ud800", "message": "hi"}', 400, "invalid_encoding"),
        (b'{"sender": "x\\u0000y", "message": "hi"}', 400, "invalid_sender"),
        (b'{"sender": "a", "message": "/greet\\ud800"}', 400, "invalid_encoding"),
        (
            b'{"sender": "a", "message": "hi", "metadata": ' + b"[" * 1000 + b"]" * 1000 + b"}",
            400,
            "too_deep",
        ),
        (b"[" * 100_000, 413, "request_too_large"),
    ],
    ids=["lone-surrogate-sender", "nul-sender", "lone-surrogate-intent", "nested-1000", "huge"],
)
def test_a_hostile_request_gets_a_4xx_and_the_server_stays_up(stack, body, status, error):
    answer = raw_post(stack, body)
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    assert answer.json()["message"]
    assert alive(stack), stack.rasa.log_tail()


def test_a_2_mb_metadata_event_is_refused_and_the_tracker_does_not_grow(stack):
    chat = stack.conversation()
    chat.say("hi")
    events_before = len(chat.tracker()["events"])
    big = json.dumps(
        {"sender": chat.customer_id, "message": "hi", "metadata": {"blob": "x" * 2_000_000}}
    ).encode()
    answer = raw_post(stack, big, **{TOKEN_HEADER: chat.session_token or ""})
    assert answer.status_code == 413 and answer.json()["error"] == "request_too_large"
    small_but_over = json.dumps(
        {"sender": chat.customer_id, "message": "hi", "metadata": {"blob": "x" * 8_000}}
    ).encode()
    answer = raw_post(stack, small_but_over, **{TOKEN_HEADER: chat.session_token or ""})
    assert answer.status_code == 413 and answer.json()["error"] == "metadata_too_large"
    assert len(chat.tracker()["events"]) == events_before


# -- finding 3: conversations cannot be taken over ------------------------------------------


def test_a_rest_conversation_cannot_be_continued_without_its_token(stack):
    jane = stack.conversation()
    jane.say("where is order 482913? I'm jane.doe@example.com")
    tracker_before = jane.tracker()
    mallory = Conversation(stack, f"mallory-{uuid.uuid4().hex[:8]}")
    mallory.say("hi")

    without = requests.post(
        webhook(stack), json={"sender": jane.customer_id, "message": "cancel it"}, timeout=30
    )
    with_other = requests.post(
        webhook(stack),
        json={"sender": jane.customer_id, "message": "cancel it"},
        headers={TOKEN_HEADER: mallory.session_token or ""},
        timeout=30,
    )

    assert (without.status_code, without.json()["error"]) == (401, "session_required")
    assert (with_other.status_code, with_other.json()["error"]) == (403, "session_mismatch")
    assert jane.tracker()["events"] == tracker_before["events"]  # untouched
    assert jane.say("thanks")  # the customer with the token carries on


def test_rest_cannot_reach_a_slack_conversation_nor_route_replies_to_slack(stack, desk):
    slack_id = f"U0{uuid.uuid4().hex[:9].upper()}_D0{uuid.uuid4().hex[:9].upper()}"
    mark = stack.slack.mark()
    chat = Conversation(stack, slack_id)
    answer = chat.post("talk to a person")  # naming a Slack conversation, claiming Slack
    requests.post(
        webhook(stack),
        json={"sender": slack_id, "message": "hello", "input_channel": "slack"},
        headers={TOKEN_HEADER: chat.session_token or ""},
        timeout=30,
    )
    assert answer.status_code == 200
    assert chat.sender == f"rest:{slack_id}"
    tracker = chat.tracker()
    assert tracker["latest_input_channel"] == "rest"
    assert stored_senders(stack, slack_id) == {chat.sender}  # no slack:… conversation

    [entry] = wait_until(lambda: desk.queue.find_by_conversation(chat.sender), timeout=30)
    ben = desk.agents["ben"]
    ben.ok("POST", f"/api/entries/{entry.entry_id}/claim")
    ben.ok("POST", f"/api/entries/{entry.entry_id}/reply", {"text": "Ben here."})
    assert any(e.get("text") == "Ben here." for e in chat.tracker()["events"])
    assert stack.slack.posts(mark) == []  # nothing went to Slack


# -- finding 6: conversation ids round-trip between the desk and Rasa -----------------------


@pytest.mark.parametrize("kind", AWKWARD_IDS)
def test_the_agents_reply_and_the_hand_back_reach_the_real_conversation(stack, desk, kind):
    marker = uuid.uuid4().hex[:8]
    chat = Conversation(stack, f"{AWKWARD_IDS[kind]}-{marker}")
    assert "human colleague" in " ".join(chat.say("I want to talk to a person"))
    [entry] = wait_until(lambda: desk.queue.find_by_conversation(chat.sender), timeout=30)
    ben = desk.agents["ben"]
    card = ben.entry(entry.entry_id)
    assert card["channel"] == "rest" and card["channel_conversation_id"] == chat.customer_id

    ben.ok("POST", f"/api/entries/{entry.entry_id}/claim")
    ben.ok("POST", f"/api/entries/{entry.entry_id}/reply", {"text": f"Ben here {marker}."})
    ben.ok("POST", f"/api/entries/{entry.entry_id}/hand-back", {})

    tracker = chat.tracker()
    texts = [e.get("text") for e in tracker["events"] if e["event"] == "bot"]
    assert f"Ben here {marker}." in texts
    assert tracker["paused"] is False
    assert any("back with the automated assistant" in (t or "") for t in texts)
    assert stored_senders(stack, marker) == {chat.sender}  # no phantom conversation
    assert chat.say("hello")  # the assistant answers again


# -- finding 11: anonymous input is bounded ---------------------------------------------------


def test_a_conversation_holds_at_most_one_open_handoff(stack):
    chat = stack.conversation()
    chat.say("I want to talk to a person")
    chat.say("/restart")  # Rasa lets a paused conversation restart
    chat.say("I want to talk to a person")
    entries = stack.queue.find_by_conversation(chat.sender)
    assert len([e for e in entries if e.status in ("pending", "claimed")]) == 1


@pytest.fixture(scope="module")
def strict_rasa(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A second Rasa server on the stack's backends with the production limits."""
    folder = tmp_path_factory.mktemp("strict")
    env: dict[str, str | None] = {
        **stack.rasa.env,
        "FRONTLINE_LIMITS_POLICY": str(REPO_ROOT / "policies" / "limits.yml"),
        # Tests say which client they are, as the proxy in front of Rasa would.
        "FRONTLINE_TRUSTED_PROXY_HOPS": "1",
    }
    server = rasa_server_process(MODEL, folder, env, AUTH_TOKEN, name="rasa-strict").start()
    yield server
    server.stop()


def test_one_client_cannot_flood_the_human_queue(stack, strict_rasa):
    client = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"  # a fresh client
    marker = uuid.uuid4().hex[:8]

    def new_customer_asks_for_a_person(n: int) -> requests.Response:
        return requests.post(
            f"{strict_rasa.url}/webhooks/rest/webhook",
            json={"sender": f"flood-{marker}-{n}", "message": "I want to talk to a person"},
            headers={"X-Forwarded-For": client},
            timeout=60,
        )

    answers = [new_customer_asks_for_a_person(n) for n in range(5)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    refusal = answers[3].json()
    assert refusal["error"] == "too_many_handoffs"
    assert "try again in about" in refusal["message"]  # the domain's utter_handoff_limit
    assert "support@frontline.example" in refusal["message"]
    assert int(answers[3].headers["Retry-After"]) > 60
    queued = [
        stack.queue.find_by_conversation(conversation_id("rest", f"flood-{marker}-{n}"))
        for n in range(5)
    ]
    assert [len(entries) for entries in queued] == [1, 1, 1, 0, 0]
    # Another client is not affected.
    other = requests.post(
        f"{strict_rasa.url}/webhooks/rest/webhook",
        json={"sender": f"other-{marker}", "message": "hi"},
        headers={"X-Forwarded-For": "198.51.100.7"},
        timeout=60,
    )
    assert other.status_code == 200 and other.json()

"""A dependency down is never silence (issue 16, finding 5), through the running servers.

One stack whose dependencies the test takes down in turn: the action server (killed,
then frozen so it accepts connections and never answers), Redis (the lock store and the
handoff queue) and PostgreSQL (the tracker store). Redis and PostgreSQL are reached
through relays the test cuts (``tests/support/tcp_switch.py``), so the shared servers
keep running. Each time the test checks what the customer sees (a clear message with a
handoff reference, in seconds), what is queued for a person (a ``dependency_down``
handoff, at once or as soon as the queue is back) and what ``/health/ready`` reports
(the dependency that is down, by name; ``/health/live`` stays 200).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import pytest
import requests

from frontline.handoff.queue import QueueEntry, create
from frontline.resilience.fallback import dependencies_policy
from frontline.resilience.outbox import HandoffOutbox, OutboxEntry
from tests.e2e.conftest import AUTH_TOKEN, MODEL, SANDBOX_NOW, Conversation, Stack
from tests.support.processes import (
    ServerProcess,
    action_server_process,
    rasa_server_process,
    sandbox_process,
)
from tests.support.servers import POSTGRES_URL, REDIS_URL, require_server
from tests.support.tcp_switch import TcpSwitch

pytestmark = pytest.mark.e2e

T = TypeVar("T")
#: The action server's answer is awaited this long (production: 20 s).
ACTION_TIMEOUT_SECONDS = 3.0
#: Longest a customer may wait for the clear message when a dependency is down.
ANSWER_WITHIN_SECONDS = 15.0


class Dependencies(Stack):
    """The stack, with switches for Redis and PostgreSQL and the outbox."""

    redis: TcpSwitch
    postgres: TcpSwitch
    outbox: HandoffOutbox


def eventually(read: Callable[[], T | None], what: str, seconds: float = 30.0) -> T:
    """Polls ``read`` until it gives something (bounded): background delivery is async."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = read()
        if value:
            return value
        time.sleep(0.2)  # polling interval of a bounded wait
    raise AssertionError(f"not within {seconds:g} s: {what}")


@pytest.fixture(scope="module")
def deps(tmp_path_factory) -> Iterator[Dependencies]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    postgres_url = require_server(POSTGRES_URL, "PostgreSQL")
    redis_url = require_server(REDIS_URL, "Redis")
    folder: Path = tmp_path_factory.mktemp("dependencies")
    switches = [
        TcpSwitch(urlparse(url).hostname or "127.0.0.1", urlparse(url).port or 0).start()
        for url in (postgres_url, redis_url)
    ]
    postgres, redis = switches
    stream = f"frontline:deps:{uuid.uuid4().hex[:8]}"
    database_url = f"sqlite:///{folder / 'frontline.db'}"
    started: list[ServerProcess] = []
    try:
        sandbox = sandbox_process(f"sqlite:///{folder / 'sandbox.db'}", folder).start()
        started.append(sandbox)
        env = {
            "TRACKER_STORE_URL": postgres.url_for(postgres_url),
            "REDIS_URL": redis.url_for(redis_url),
            "HANDOFF_STREAM": stream,
            "FRONTLINE_DATABASE_URL": database_url,
            "SANDBOX_URL": sandbox.url,
            "BACKEND_TIMEOUT_SECONDS": "1.5",
            "ACTION_TIMEOUT_SECONDS": str(ACTION_TIMEOUT_SECONDS),
            "OUTBOX_RETRY_SECONDS": "0.5",
            "HEALTH_TIMEOUT_SECONDS": "2",
            "RASA_TELEMETRY_ENABLED": "false",
            "FRONTLINE_AS_OF": SANDBOX_NOW,
            "SLACK_BOT_TOKEN": "",
            "SLACK_SIGNING_SECRET": "",
            "SLACK_CHANNEL": "",
        }
        actions = action_server_process(folder, env).start()
        started.append(actions)
        rasa_env = env | {"ACTION_ENDPOINT_URL": f"{actions.url}/webhook"}
        rasa = rasa_server_process(MODEL, folder, rasa_env, AUTH_TOKEN).start()
        started.append(rasa)
        queue = create({"type": "redis", "url": redis_url, "stream": stream})
        stack = Dependencies(sandbox, actions, rasa, queue, started, env=env)
        stack.redis, stack.postgres = redis, postgres
        stack.outbox = HandoffOutbox(database_url)
        yield stack
        queue.close()
    finally:
        for process in reversed(started):
            process.stop()
        for switch in switches:
            switch.stop()


def readiness(deps: Dependencies) -> tuple[int, dict[str, Any]]:
    response = requests.get(f"{deps.rasa.url}/health/ready", timeout=30)
    return response.status_code, response.json()


def down(deps: Dependencies) -> set[str]:
    """The dependencies the Rasa server's readiness reports down (none: it is ready)."""
    status, body = readiness(deps)
    failing = {name for name, result in body["dependencies"].items() if not result["ok"]}
    assert (status == 200) == (not failing) and body["status"] in ("ready", "not_ready")
    return failing


def timed_say(conversation: Conversation, text: str) -> tuple[list[str], float]:
    started = time.monotonic()
    replies = conversation.say(text)
    return replies, time.monotonic() - started


def recorded(deps: Dependencies, conversation: Conversation) -> OutboxEntry:
    [entry] = deps.outbox.of_conversation(conversation.sender)
    return entry


def queued(deps: Dependencies, conversation: Conversation) -> QueueEntry:
    return eventually(
        lambda: next(iter(deps.queue.find_by_conversation(conversation.sender)), None),
        f"a handoff of {conversation.sender} on the queue",
    )


def assert_told_and_handed_off(
    deps: Dependencies, conversation: Conversation, replies: list[str], dependency: str
) -> OutboxEntry:
    entry = recorded(deps, conversation)
    expected = dependencies_policy().handoff_recorded.format(reference=entry.reference)
    assert replies[-1] == expected
    assert entry.packet["reason"]["code"] == "dependency_down"
    assert dependency in entry.packet["reason"]["rationale"]
    return entry


def test_the_stack_is_ready_with_every_dependency_reported(deps):
    status, body = readiness(deps)
    assert status == 200 and body["status"] == "ready"
    assert set(body["dependencies"]) == {
        "tracker_store",
        "lock_store",
        "action_server",
        "queue",
        "database",
    }
    live = requests.get(f"{deps.rasa.url}/health/live", timeout=10)
    assert live.json() == {"status": "alive", "service": "rasa"}
    actions = requests.get(f"{deps.actions.url}/health/ready", timeout=30).json()
    assert actions["status"] == "ready"
    assert set(actions["dependencies"]) == {"database", "queue", "backends"}


def test_action_server_killed(deps):
    customer = deps.conversation()
    assert customer.say("hi")
    deps.actions.stop()
    try:
        replies, seconds = timed_say(customer, "I want to talk to a person")
        print(f"action server killed: answered in {seconds:.2f} s")
        entry = assert_told_and_handed_off(deps, customer, replies, "action_server")
        assert seconds < ANSWER_WITHIN_SECONDS
        # The queue answers: the Rasa server's deliverer hands it over at once.
        handoff = queued(deps, customer)
        assert handoff.packet["handoff_id"] == entry.handoff_id
        assert handoff.packet["last_turns"][-1]["text"] == "I want to talk to a person"
        assert down(deps) == {"action_server"}
        assert requests.get(f"{deps.rasa.url}/health/live", timeout=10).status_code == 200
    finally:
        deps.actions.start()
    assert eventually(lambda: not down(deps) or None, "the stack ready again")


def test_action_server_that_never_answers(deps):
    customer = deps.conversation()
    assert customer.say("hi")
    os.kill(deps.actions.pid or 0, signal.SIGSTOP)  # accepts connections, answers nothing
    try:
        replies, seconds = timed_say(customer, "can I speak to a human agent please")
        print(f"action server frozen: answered in {seconds:.2f} s")
        assert_told_and_handed_off(deps, customer, replies, "action_server")
        assert ACTION_TIMEOUT_SECONDS <= seconds < ANSWER_WITHIN_SECONDS
        assert queued(deps, customer).packet["reason"]["code"] == "dependency_down"
    finally:
        os.kill(deps.actions.pid or 0, signal.SIGCONT)


def test_redis_unreachable(deps):
    customer = deps.conversation()
    assert customer.say("hi")
    deps.redis.cut()
    try:
        replies, seconds = timed_say(customer, "I want to talk to a person")
        print(f"redis down: answered in {seconds:.2f} s")
        entry = assert_told_and_handed_off(deps, customer, replies, "lock_store")
        assert seconds < ANSWER_WITHIN_SECONDS
        assert {"lock_store", "queue"} <= down(deps)
        actions = requests.get(f"{deps.actions.url}/health/ready", timeout=30)
        assert actions.status_code == 503
        assert not actions.json()["dependencies"]["queue"]["ok"]
        assert requests.get(f"{deps.actions.url}/health/live", timeout=10).status_code == 200
        # The queue (Redis) is down: the handoff waits in the outbox, tried again and again.
        waiting = eventually(
            lambda: recorded(deps, customer).attempts >= 2 or None, "delivery attempts"
        )
        assert waiting and recorded(deps, customer).delivered_at is None
    finally:
        deps.redis.restore()
    # Redis is back: the handoff lands on its queue.
    assert queued(deps, customer).packet["handoff_id"] == entry.handoff_id
    assert eventually(lambda: not down(deps) or None, "the stack ready again")


def test_tracker_store_database_down(deps):
    customer = deps.conversation()
    assert customer.say("hi")
    deps.postgres.cut()
    try:
        # Rasa answers from an empty in-memory tracker: the bot would go on without the
        # conversation's history; the customer is told, and a person takes over.
        replies, seconds = timed_say(customer, "where is my order?")
        print(f"tracker store down: answered in {seconds:.2f} s")
        assert_told_and_handed_off(deps, customer, replies, "tracker_store")
        assert seconds < ANSWER_WITHIN_SECONDS
        assert queued(deps, customer).packet["reason"]["code"] == "dependency_down"
        assert "tracker_store" in down(deps)
    finally:
        deps.postgres.restore()
    assert eventually(lambda: not down(deps) or None, "the stack ready again")
    # The conversation goes on where it was.
    assert customer.say("hi")

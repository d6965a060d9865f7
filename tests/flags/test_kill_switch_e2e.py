"""The kill switch takes effect on the next message in a two-instance deployment.

Two Rasa servers and two action servers behind nginx share PostgreSQL and Redis
(tests/support/topology.py). An operator turns the kill switch on with the command line,
as the runbook says; the very next message, whichever instance receives it, goes to a
person with the kill switch's words and reason; turning it off gives the assistant back
the next message. Every change and every decision it caused is on the audit trail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import yaml

from frontline.audit import AuditStore
from frontline.channels.ids import conversation_id
from frontline.channels.sessions import TOKEN_HEADER
from frontline.handoff.queue import create as create_queue
from tests.support.processes import REPO_ROOT
from tests.support.servers import POSTGRES_URL, REDIS_URL, require_server
from tests.support.topology import Topology, deployment, fresh_postgres_database

pytestmark = pytest.mark.e2e

MODEL = REPO_ROOT / "models" / "frontline.tar.gz"
TOKEN = "flags-" + uuid.uuid4().hex
FLAGS_DOMAIN = yaml.safe_load((REPO_ROOT / "domain" / "flags.yml").read_text())["responses"]


def words(response: str) -> str:
    """The first sentence of a response of domain/flags.yml, as the customer reads it."""
    return FLAGS_DOMAIN[response][0]["text"].split(",")[0]


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with fresh_postgres_database(require_server(POSTGRES_URL, "PostgreSQL"), "killswitch") as url:
        yield url


@pytest.fixture(scope="module")
def two_instances(database, tmp_path_factory) -> Iterator[Topology]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    if not shutil.which("nginx"):
        pytest.fail("nginx is needed (make test-deps installs Debian's nginx-light)")
    with deployment(
        "two_instances",
        tmp_path_factory.mktemp("killswitch"),
        model=MODEL,
        tracker_store_url=database,
        redis_url=require_server(REDIS_URL, "Redis"),
        auth_token=TOKEN,
    ) as started:
        yield started


#: Each sender's REST session token (the first answer's): every instance accepts it.
SESSION_TOKENS: dict[str, str] = {}


def say(url: str, sender: str, text: str) -> list[str]:
    headers = {TOKEN_HEADER: SESSION_TOKENS[sender]} if sender in SESSION_TOKENS else {}
    response = requests.post(
        f"{url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        headers=headers,
        timeout=60,
    )
    response.raise_for_status()
    SESSION_TOKENS.setdefault(sender, response.headers[TOKEN_HEADER])
    return [reply.get("text", "") for reply in response.json()]


def tracker(url: str, sender: str) -> dict[str, Any]:
    response = requests.get(
        f"{url}/conversations/{conversation_id('rest', sender)}/tracker",
        params={"token": TOKEN},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def operator(topology: Topology, *args: str) -> str:
    """``python -m frontline.flags ...`` as an operator runs it against the deployment."""
    env = server_env(topology)
    result = subprocess.run(
        [sys.executable, "-m", "frontline.flags", *args],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "FRONTLINE_DATABASE_URL": env["FRONTLINE_DATABASE_URL"],
            "REDIS_URL": env["REDIS_URL"],
            "FRONTLINE_OPERATOR": "sam.supervisor",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def wait_for(condition: Callable[[], Any], seconds: float = 20.0) -> Any:
    """Bounded polling of a readiness condition (the audit writer runs in the background)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"condition not met within {seconds} s")


def server_env(topology: Topology) -> dict[str, str | None]:
    """The environment the action and Rasa servers run with (URLs of the shared stores)."""
    return next(p.env for p in topology.processes if "FRONTLINE_DATABASE_URL" in p.env)


def handoff_reason_of(topology: Topology, sender: str) -> str:
    env = server_env(topology)
    queue = create_queue(
        {"type": "redis", "url": env["REDIS_URL"], "stream": env["HANDOFF_STREAM"]}
    )
    try:
        [entry] = queue.find_by_conversation(conversation_id("rest", sender))
        return entry.packet["reason"]["code"]
    finally:
        queue.close()


def test_the_kill_switch_takes_effect_on_the_next_message_on_every_instance(two_instances):
    first, second = two_instances.entry_points
    customer = f"ks-{uuid.uuid4().hex[:10]}"
    assert any("automated assistant" in r for r in say(first, customer, "hello"))

    operator(two_instances, "kill-switch", "on", "--mode", "messages", "--reason", "INC-1 test")

    # The next message of a conversation that started before, on the other instance.
    replies = say(second, customer, "where is my order?")
    assert any(words("utter_kill_switch_messages") in r for r in replies), replies
    assert any("passed your conversation to a human colleague" in r for r in replies)
    # And the first message of a new conversation, on the first instance.
    newcomer = f"ks-{uuid.uuid4().hex[:10]}"
    assert any(words("utter_kill_switch_messages") in r for r in say(first, newcomer, "hi there"))
    for sender in (customer, newcomer):
        events = tracker(first, sender)["events"]
        handoff = [e for e in events if e["event"] == "action" and e["name"] == "action_handoff"]
        assert [e["policy"] for e in handoff] == ["FlagControlPolicy"]
        assert any(e["event"] == "pause" for e in events)
        assert handoff_reason_of(two_instances, sender) == "kill_switch"

    operator(two_instances, "kill-switch", "off", "--reason", "INC-1 resolved")
    later = f"ks-{uuid.uuid4().hex[:10]}"
    assert any("automated assistant" in r for r in say(second, later, "hello"))


def test_writes_off_hands_a_cancellation_to_a_person_and_reading_goes_on(two_instances):
    first, second = two_instances.entry_points
    operator(two_instances, "kill-switch", "on", "--mode", "writes", "--reason", "INC-2 orders")
    try:
        status = f"ks-{uuid.uuid4().hex[:10]}"
        assert any("e-mail address" in r for r in say(first, status, "where is my order?"))
        cancel = f"ks-{uuid.uuid4().hex[:10]}"
        replies = say(
            second, cancel, "please cancel order 551203, my email is omar.haddad@example.com"
        )
        assert any(words("utter_kill_switch_writes") in r for r in replies), replies
        assert handoff_reason_of(two_instances, cancel) == "kill_switch"
        order = requests.get(f"{two_instances.sandbox_url}/orders/551203", timeout=10).json()
        assert order["state"] != "cancelled"
    finally:
        operator(two_instances, "kill-switch", "off", "--reason", "INC-2 resolved")

    # Audited: who turned it on and off, and why; and the decisions it caused.
    audit = AuditStore(str(server_env(two_instances)["FRONTLINE_DATABASE_URL"]), "main")
    changes = [r.payload for r in audit.records(kind="flag_change")]
    assert [(c["after"]["mode"], c["actor"], c["reason"]) for c in changes][-2:] == [
        ("writes", "sam.supervisor", "INC-2 orders"),
        ("off", "sam.supervisor", "INC-2 resolved"),
    ]
    decision = wait_for(
        lambda: next(
            (
                r.payload
                for r in audit.records(conversation_id("rest", cancel), kind="decision")
                if r.payload.get("action") == "action_handoff"
            ),
            None,
        )
    )
    assert decision["handoff_reason"] == "kill_switch"
    assert [(f["flag"], f["variant"]) for f in decision["flags"]] == [
        ("kill_switch", "writes"),
        ("contact.cancel_order", "on"),
        ("write.cancel_order", "off"),
    ]
    assert audit.verify().ok

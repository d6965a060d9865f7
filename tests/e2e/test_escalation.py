"""Policy as code and the audit trail, through the running servers.

A legal threat hands off with the rule id in the packet; every bot action leaves a
decision record (intent, confidence, runner-up, dialogue policy, model id) on a hash
chain that verifies; a write leaves its decision and idempotency key; the records
survive a restart of the servers; and changing a policy file (a new sensitive keyword,
a lower money limit) changes what the restarted servers do.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from frontline.audit import AuditStore, StoredRecord
from tests.e2e.conftest import Stack
from tests.support.processes import REPO_ROOT, rasa_server_process

pytestmark = pytest.mark.e2e

POLICIES = REPO_ROOT / "policies"
CHANGED_POLICIES = "changed_policies"


def joined(replies: list[str]) -> str:
    return " ".join(replies)


def audit_store(stack: Stack) -> AuditStore:
    """The chain the stack's servers append to."""
    env = stack.rasa.env
    return AuditStore(env["FRONTLINE_DATABASE_URL"], env.get("FRONTLINE_AUDIT_CHAIN") or "main")


def wait_for(condition: Callable[[], Any], seconds: float = 20.0) -> Any:
    """Bounded polling of a readiness condition (the audit writer runs in the background)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"condition not met within {seconds} s")


def bot_actions(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in tracker["events"] if e["event"] == "action" and e["name"] != "action_listen"]


def decisions_of(stack: Stack, conversation: str, count: int) -> list[StoredRecord]:
    """The conversation's decision records, once there are ``count`` of them."""
    store = audit_store(stack)
    return wait_for(
        lambda: (records := store.records(conversation, kind="decision"))
        and len(records) >= count
        and records
    )


def verify_command(stack: Stack) -> subprocess.CompletedProcess[str]:
    store = audit_store(stack)
    return subprocess.run(
        [sys.executable, "-m", "frontline.audit", "verify", "--url", store.url]
        + ["--chain", store.chain],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_with_policies(stack: Stack, policies_dir: Path | None) -> None:
    """Restarts the action and Rasa servers with ``policies_dir`` (None: the repository's),
    unless they already run with it. Records and conversations are in the databases, so
    nothing is lost."""
    wanted = str(policies_dir) if policies_dir else None
    if stack.rasa.env.get("FRONTLINE_POLICIES_DIR") == wanted:
        return
    stack.rasa.stop()
    stack.actions.stop()
    for server in (stack.actions, stack.rasa):
        server.env["FRONTLINE_POLICIES_DIR"] = wanted
    stack.actions.start()
    stack.rasa.start()


@pytest.fixture
def live(stack: Stack) -> Stack:
    """The stack running with the repository's policy files."""
    run_with_policies(stack, None)
    return stack


@pytest.fixture(scope="module")
def changed_policies(tmp_path_factory) -> Path:
    """A copy of policies/ with a new sensitive keyword and a lower cancellation limit."""
    folder = tmp_path_factory.mktemp("policies") / CHANGED_POLICIES
    shutil.copytree(POLICIES, folder)
    path = folder / "escalation.yml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    legal = next(
        t for t in document["rules"]["sensitive_topics"] if t["id"].endswith("legal_threat")
    )
    legal["keywords"].append("ombudsman")
    document["rules"]["writes"]["cancel_order"]["money_limit"]["amount"] = "50.00"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return folder


def test_a_legal_threat_hands_off_with_the_rule_in_the_packet(live):
    chat = live.conversation()
    chat.say("hi")
    replies = joined(chat.say("Sort this out or I'll take you to court"))
    assert "passed your conversation to a human colleague" in replies
    assert chat.tracker()["paused"] is True

    [entry] = live.queue.find_by_conversation(chat.sender)
    packet = entry.packet
    assert packet["reason"]["code"] == "legal"
    assert packet["reason"]["rule"]["id"] == "sensitive.legal_threat"
    assert packet["reason"]["rule"]["policy"] == "escalation"
    assert packet["reason"]["rationale"].startswith("The customer mentioned legal action")
    assert packet["priority"] == "high"
    # The packet's last decision is the handoff, with the message and rule behind it.
    handoff = packet["decisions"][-1]
    assert handoff["action"] == "action_handoff" and handoff["rules"] == ["sensitive.legal_threat"]
    assert handoff["intent"] is not None
    # The audit trail knows which dialogue policy chose it, and why.
    actions = bot_actions(chat.tracker())
    [record] = [
        r
        for r in decisions_of(live, chat.sender, len(actions))
        if r.payload["action"] == "action_handoff"
    ]
    assert record.payload["policy"] == "EscalationDialoguePolicy"
    assert record.payload["escalation"]["kind"] == "sensitive_topic"
    assert record.payload["rules"][0]["id"] == "sensitive.legal_threat"


def test_every_bot_action_has_a_decision_record_and_the_chain_verifies(live):
    chat = live.conversation()
    chat.say("hello")
    chat.say("where is my order?")
    chat.say("jane.doe@example.com")
    chat.say("94107")
    assert "on its way" in joined(chat.say("482913"))
    tracker = chat.tracker()
    actions = bot_actions(tracker)
    records = decisions_of(live, chat.sender, len(actions))
    assert [r.payload["action"] for r in records] == [a["name"] for a in actions]
    model_ids = {e["metadata"]["model_id"] for e in tracker["events"] if e["event"] == "user"}
    for record, action in zip(records, actions, strict=True):
        decision = record.payload
        assert decision["policy"] == action["policy"]
        assert decision["confidence"] == pytest.approx(action["confidence"], abs=1e-4)
        assert decision["model_id"] in model_ids
        assert decision["thresholds"]["nlu_fallback_threshold"] > 0
        assert set(decision["policy_versions"]) >= {"escalation", "consent", "scope"}
        chooser = action["policy"] or "the dialogue"  # Rasa starts a session itself
        assert decision["rationale"].startswith(f"{chooser} chose {action['name']}")
        if action["name"] != "action_session_start":
            assert decision["intent"]["name"] and decision["intent"]["confidence"] > 0
            assert decision["runner_up"]["name"] != decision["intent"]["name"]
    # The customer's e-mail address never reaches the audit trail unmasked.
    assert all("jane.doe@example.com" not in str(r.payload) for r in records)
    result = verify_command(live)
    assert result.returncode == 0, result.stderr
    assert "ok   chain" in result.stdout


def test_a_cancellation_records_its_decision_and_idempotency_key(live):
    chat = live.conversation()
    chat.say("please cancel order 482916, my email is jane.doe@example.com")
    assert "order 482916 is cancelled" in joined(chat.say("yes"))
    assert live.order("482916")["state"] == "cancelled"
    store = audit_store(live)
    [write] = wait_for(lambda: store.records(chat.sender, kind="write"))
    assert write.payload["outcome"] == "cancelled"
    assert write.payload["decision"]["allowed"] is True
    assert write.payload["consent"]["given"] is True
    assert write.payload["consent"]["subject"] == "482916"
    key = write.payload["idempotency_key"]
    assert key.startswith("cancel-order-")
    actions = bot_actions(chat.tracker())
    decisions = decisions_of(live, chat.sender, len(actions))
    [cancel] = [d.payload for d in decisions if d.payload["action"] == "action_cancel_order"]
    assert cancel["backend_calls"][0]["idempotency_key"] == key
    assert cancel["backend_calls"][0]["result"] == "cancelled"


def test_records_survive_a_restart_and_changed_policies_apply(stack, changed_policies):
    run_with_policies(stack, None)
    before = stack.conversation()
    before.say("hi")
    greeting = decisions_of(stack, before.sender, len(bot_actions(before.tracker())))
    assert greeting[-1].payload["action"] == "utter_greet"
    store = audit_store(stack)
    head_before = store.head()

    run_with_policies(stack, changed_policies)  # every process that writes the trail restarts

    assert [r.record_hash for r in store.records(before.sender)] == [
        r.record_hash for r in greeting
    ]
    assert store.verify().ok

    # A keyword added to the policy file makes the dialogue hand off.
    chat = stack.conversation()
    assert "human colleague" in joined(chat.say("I have written to the ombudsman about you"))
    [entry] = stack.queue.find_by_conversation(chat.sender)
    assert entry.packet["reason"]["rule"]["id"] == "sensitive.legal_threat"

    # A lower money limit turns an automatic cancellation into an escalation.
    order = stack.order("482914")
    assert order["state"] == "paid" and float(order["total"]) > 50
    chat = stack.conversation()
    chat.say("please cancel order 482914, my email is jane.doe@example.com")
    replies = joined(chat.say("yes"))
    assert "can't make this change on my own" in replies and "human colleague" in replies
    assert stack.order("482914")["state"] == "paid"
    [entry] = stack.queue.find_by_conversation(chat.sender)
    assert entry.packet["reason"]["rule"]["id"] == "escalation.writes.cancel_order.money_limit"
    assert "above the $50.00" in entry.packet["reason"]["rationale"]
    refused = [a for a in entry.packet["actions_attempted"] if a["action"] == "cancel_order"]
    assert refused[-1]["rule_id"] == "escalation.writes.cancel_order.money_limit"

    # The chain went on from where it was before the restart, unbroken.
    newer = wait_for(lambda: store.records(chat.sender, kind="write"))
    assert newer[0].seq > head_before[0]
    assert newer[0].payload["decision"]["rule_id"] == "escalation.writes.cancel_order.money_limit"
    result = verify_command(stack)
    assert result.returncode == 0, result.stderr


def test_the_rasa_server_refuses_to_start_with_a_broken_policy(tmp_path):
    from tests.e2e import conftest

    broken = tmp_path / "policies"
    shutil.copytree(POLICIES, broken)
    (broken / "consent.yml").write_text("policy: consent\nversion: one\n", encoding="utf-8")
    env = {
        "FRONTLINE_POLICIES_DIR": str(broken),
        "FRONTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'frontline.db'}",
        "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "REDIS_URL": "",
        "ACTION_ENDPOINT_URL": "http://127.0.0.1:9/webhook",
        "RASA_TELEMETRY_ENABLED": "false",
        "SLACK_BOT_TOKEN": "",
        "SLACK_SIGNING_SECRET": "",
        "SLACK_CHANNEL": "",
    }
    server = rasa_server_process(conftest.MODEL, tmp_path, env, "token")
    with pytest.raises(RuntimeError, match="exited at startup"):
        server.start()
    assert "policy 'consent' is invalid" in server.log_path.read_text(errors="replace")

"""The review loop on the running stack: real decision records reach the inbox, masked; an
agent's flag and a reviewer's label follow; the export turns the label into training data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.review.__main__ import main as review_command
from frontline.review.training_data import read_examples
from tests.desk.conftest import Desk, add_agent, sign_in, start_desk
from tests.e2e.conftest import AUTH_TOKEN, Stack, stack  # noqa: F401
from tests.handoff.support import wait_until

pytestmark = pytest.mark.e2e
RAW_EMAIL = "jane.doe@example.com"


@pytest.fixture(scope="module")
def desk(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:  # noqa: F811
    env = dict(stack.actions.env)
    database_url = env["FRONTLINE_DATABASE_URL"]
    desk_env = {**env, "RASA_URL": stack.rasa.url, "RASA_AUTH_TOKEN": AUTH_TOKEN}
    started = start_desk(tmp_path_factory.mktemp("desk"), desk_env, database_url,
                         {"type": "sql", "url": database_url})  # fmt: skip
    try:
        yield next(started)
    finally:
        started.close()


def inbox_items(client: Any, conversation_id: str) -> dict[str, dict[str, Any]]:
    """The inbox's items of one conversation, by text."""
    inbox = client.ok("GET", "/api/review/inbox")
    return {
        item["text"]: item
        for group in inbox["groups"]
        for item in group["items"]
        if item["conversation_id"] == conversation_id
    }


@pytest.mark.parametrize("stack", ["defaults"], indirect=True)
def test_from_a_real_conversation_to_reviewed_training_data(
    stack: Stack, desk: Desk, tmp_path: Path  # noqa: F811
) -> None:
    reviewer_name = f"rita-{uuid.uuid4().hex[:6]}"
    add_agent(desk.database_url, reviewer_name, "reviewer")
    rita = sign_in(desk.url, reviewer_name)
    ben = desk.agents["ben"]
    chat = stack.conversation()
    chat.say(f"where is order 482913? I'm {RAW_EMAIL}")
    chat.say("I want to talk to a human")
    [entry] = stack.queue.find_by_conversation(chat.sender)
    outcomes = SqlOutcomeStore(desk.database_url)
    wait_until(lambda: outcomes.for_conversation(chat.sender), timeout=30)  # written in batches

    # The agent flags the assistant's answer about the order.
    view = ben.entry(entry.entry_id)
    answers = [t for t in view["transcript"] if t["speaker"] == "assistant"]
    flagged = ben.ok("POST", f"/api/entries/{entry.entry_id}/flag",
                     {"timestamp": answers[0]["timestamp"], "reason": "wrong_answer"})  # fmt: skip
    assert flagged["changed"] is True
    [record] = outcomes.for_conversation(chat.sender)
    assert record["agent_flags"] == 1 and record["agent_flag_reasons"] == "wrong_answer"

    # The reviewer sees the message that answer was about: masked, flagged.
    items = wait_until(lambda: inbox_items(rita, chat.sender), timeout=30)
    [(text, item)] = [(t, i) for t, i in items.items() if "482913" in t]
    assert RAW_EMAIL not in str(items) and "j***@example.com" in text
    assert item["signals"].get("agent_flag") == 1 and item["intent"] == "check_order_status"

    rita.ok("POST", "/api/review/labels", {"keys": [item["key"]], "decision": "confirm"})
    out = tmp_path / "reviewed"
    status = review_command(["export", "--database-url", desk.database_url, "--out", str(out)])

    assert status == 0
    examples = {(e.intent, e.text) for e in read_examples(out)}
    assert ("check_order_status", "where is order 482913? I'm someone@example.com") in examples

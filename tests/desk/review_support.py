"""A desk (Rasa down) over a database holding the review scenario, with a reviewer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.desk.conftest import Desk, DeskClient, add_agent, sign_in, start_desk
from tests.review.scenario import MESSAGES, Scenario, iso, seed
from tests.support.processes import free_port

BOT_REPLY = "Returns are free within 30 days."


@dataclass
class ReviewDesk:
    desk: Desk
    scenario: Scenario
    reviewer: DeskClient
    reviewer_name: str
    entry_id: str  # conversation f on the queue: its packet has the assistant's answer

    def bot_turn_timestamp(self) -> str:
        return iso(self.scenario.at("f") + 2)


def packet_of_f(scenario: Scenario) -> dict[str, Any]:
    """Conversation f handed off: the packet's turns include the assistant's answer."""
    return {
        "schema_version": "1.0",
        "handoff_id": uuid.uuid4().hex[:24],
        "conversation_id": scenario.conversation("f"),
        "channel": "rest",
        "created_at": iso(scenario.at("f") + 60),
        "priority": "normal",
        "reason": {"code": "customer_request", "rationale": "The customer asked for a person."},
        "customer": {"verified": False},
        "intent": {"name": "request_return", "confidence": 0.9},
        "entities": [],
        "summary": "Customer's refund did not arrive.",
        "last_turns": [
            {"speaker": "customer", "text": MESSAGES["f"][0], "timestamp": iso(scenario.at("f"))},
            {"speaker": "assistant", "text": BOT_REPLY, "timestamp": iso(scenario.at("f") + 2)},
        ],
        "actions_attempted": [],
    }


def start_review_desk(folder: Path) -> Iterator[ReviewDesk]:
    database_url = f"sqlite:///{folder / 'frontline.db'}"
    scenario = Scenario(uuid.uuid4().hex[:10], time.time())
    seed(database_url, "main", scenario)
    env = {
        "REDIS_URL": "",
        "HANDOFF_QUEUE": "sql",
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "RASA_AUTH_TOKEN": "desk-test-" + uuid.uuid4().hex,
        "BACKEND_TIMEOUT_SECONDS": "2",
        "HANDOFF_LEASE_SECONDS": "30",
        "FRONTLINE_AUDIT_CHAIN": "main",
    }
    queue_config = {"type": "sql", "url": database_url, "lease_seconds": 30}
    reviewer_name = f"rita-{scenario.tag[:6]}"
    add_agent(database_url, reviewer_name, "reviewer")
    for desk in start_desk(folder, env, database_url, queue_config):
        entry_id = desk.queue.enqueue(packet_of_f(scenario))
        reviewer = sign_in(desk.url, reviewer_name)
        yield ReviewDesk(desk, scenario, reviewer, reviewer_name, entry_id)

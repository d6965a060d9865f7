"""Outcome records and metrics through the running servers: conversations over REST, a
handoff resolved in the desk's API, a CSAT answer; ``/metrics`` on all three servers.

Runs on both configurations of ``tests/e2e/conftest.py``'s ``stack``. The laptop one
has a database of its own, so its metrics are checked exactly; the production-like one
shares PostgreSQL with other runs, so only its own contacts' records are.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from frontline.metrics.summary import compute_metrics
from frontline.outcomes.model import OutcomeRecord
from frontline.outcomes.sql_store import SqlOutcomeStore
from tests.desk.conftest import Desk, desk_on_stack
from tests.e2e.conftest import AUTH_TOKEN, Stack, stack  # noqa: F401
from tests.handoff.support import wait_until

pytestmark = pytest.mark.e2e

WAIT = 30.0


@pytest.fixture(scope="module")
def desk(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:  # noqa: F811
    """The agent desk on the stack's queue and database."""
    yield from desk_on_stack(
        stack, tmp_path_factory.mktemp("desk"), AUTH_TOKEN, forget_agents=False
    )


def record_when(store: SqlOutcomeStore, conversation: str, outcome: str) -> OutcomeRecord:
    """The conversation's record once the outcome writer has given it ``outcome``."""

    def ready() -> OutcomeRecord | None:
        records = store.for_conversation(conversation)
        return records[-1] if records and records[-1].outcome == outcome else None

    return wait_until(ready, timeout=WAIT)


def test_outcomes_of_a_rated_resolution_and_a_handoff_resolved_at_the_desk(
    stack: Stack, desk: Desk  # noqa: F811
) -> None:
    started = time.time() - 1
    store = SqlOutcomeStore(stack.env["FRONTLINE_DATABASE_URL"])

    rated = stack.conversation()
    rated.say("where is my order?")
    rated.say("jane.doe@example.com")
    assert "How did I do?" in " ".join(rated.say("482913"))
    rated.say('/csat_feedback{"rating": "4"}')

    handed = stack.conversation()
    handed.say("where is order 551200? my email is omar.haddad@example.com")
    assert "human colleague" in " ".join(handed.say("I want to talk to a human"))
    [entry] = stack.queue.find_by_conversation(handed.sender)
    agent = desk.agents["ben"]
    assert agent.post(entry.entry_id, "claim").status_code == 200
    assert agent.post(entry.entry_id, "reply", {"text": "Hi, it ships tomorrow."}).ok
    response = agent.post(entry.entry_id, "resolve", {"resolution_code": "information_given"})
    assert response.status_code == 200, response.text

    first = wait_until(
        lambda: next(
            (r for r in store.for_conversation(rated.sender) if r["csat_score"] == 4), None
        ),
        timeout=WAIT,
    )
    assert first.outcome == "resolved_by_assistant" and first.tier == "gold"
    assert first.interaction_type == "check_order_status" and first.channel == "rest"
    assert first["csat_asked"] and first["backend_calls"] == 1
    second = record_when(store, handed.sender, "resolved_by_person")
    assert second.escalation_reason == "customer_request" and second.tier == "silver"
    assert second["resolution_code"] == "information_given"
    assert second["queue_wait_seconds"] is not None and second["human_handle_seconds"] > 0
    assert second["reopened"]  # the order status was shown before the customer asked
    assert first.customer_key != second.customer_key and len(first.customer_key) == 32

    if stack.env.get("REDIS_URL"):
        return  # shared PostgreSQL: other runs' contacts are in the same range
    result = compute_metrics(store, started, time.time() + 1)
    overall = result.overall
    assert (overall.counted, overall.resolution.value, overall.escalation.value) == (2, 1.0, 0.5)
    assert (overall.csat_top2.numerator, overall.csat_top2.denominator) == (1, 1)
    assert overall.aht_person_seconds == pytest.approx(second["human_handle_seconds"])
    assert set(result.escalation_reasons) == {"customer_request"}


def scrape(url: str) -> str:
    def answered() -> str | None:
        response = requests.get(f"{url}/metrics", timeout=30)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        body = response.text
        return body if "frontline_metrics_database_up 1.0" in body else None

    return wait_until(answered, timeout=WAIT)


def test_metrics_answer_on_the_three_servers(stack: Stack, desk: Desk) -> None:  # noqa: F811
    stack.conversation().say("hello")  # at least one record
    families: dict[str, Any] = {
        stack.rasa.url: ["frontline_contacts", "frontline_escalations_total",
                         "frontline_outcomes_last_update_timestamp_seconds"],
        stack.actions.url: ["frontline_backend_calls_total", "frontline_actions_completed_total"],
        desk.url: ["frontline_handoff_queue_entries", "frontline_queue_wait_seconds_total",
                   "frontline_human_handle_seconds_total"],
    }  # fmt: skip
    for url, names in families.items():
        body = scrape(url)
        for name in names:
            assert f"# TYPE {name.removesuffix('_total')}" in body, (url, name)

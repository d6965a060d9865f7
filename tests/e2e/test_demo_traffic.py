"""``make demo-traffic`` against the running servers: a two-day plan over REST, web chat
and Slack, handoffs answered at the desk, and the outcome records it leaves.

Both configurations of ``stack`` (SQLite and SQL queue; PostgreSQL and Redis). The stack
runs with the simulated clock (``FRONTLINE_SIMULATED_CLOCK=1``, as ``make run``), so
yesterday's contacts are recorded a day back; the records are read per conversation,
so other runs sharing the database do not count.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from frontline.outcomes.sql_store import SqlOutcomeStore
from scripts.demo_traffic.__main__ import Demo
from scripts.demo_traffic.channels import Rasa
from scripts.demo_traffic.desk import AGENT_NAME, DeskAgent, ensure_agent
from scripts.demo_traffic.plan import EXPECTED, build_plan
from tests.desk.conftest import Desk
from tests.desk.test_desk_conversations import desk  # noqa: F401
from tests.e2e.conftest import AUTH_TOKEN, Stack, stack  # noqa: F401

pytestmark = pytest.mark.e2e

DAY = 86_400.0


def test_two_days_of_demo_traffic_are_recorded_as_planned(
    stack: Stack, desk: Desk  # noqa: F811
) -> None:
    database_url = stack.env["FRONTLINE_DATABASE_URL"]
    agent = DeskAgent.sign_in(desk.url, AGENT_NAME, ensure_agent(desk.database_url))
    assert stack.slack_sender is not None
    demo = Demo(
        Rasa(stack.rasa.url, AUTH_TOKEN),
        agent,
        stack.sandbox.url,
        database_url,
        stack.slack_sender.signing_secret,
    )
    plan = build_plan(2)
    started = time.time()
    judged = demo.run(plan, echo=False)

    assert demo.failed == 0 and len(demo.held) == len(plan)
    # Three handoffs answered at the desk (two hand-backs, one resolved), each judged.
    assert judged == len(demo.answered) == 3
    store = SqlOutcomeStore(database_url)
    seen: dict[str, Any] = {}
    for contact, conversation in zip(plan, demo.held, strict=True):
        [record] = store.for_conversation(conversation)
        seen[conversation] = record
        kind, outcome = EXPECTED[contact.script]
        if contact.script == "abandoned_cancellation" and contact.days_back == 0:
            outcome = "in_progress"  # quiet for seconds, not yet the policy's 30 minutes
        assert (record.interaction_type, record.outcome) == (kind, outcome), contact
        assert record.channel == contact.channel, contact
        # The simulated clock: yesterday's contacts are a day back, today's are now.
        assert abs(record.started_at - (started - contact.days_back * DAY)) < 600, contact
    verdicts = [r.could_have_handled for r in seen.values() if r.could_have_handled is not None]
    assert sorted(verdicts) == [False, False, True]
    # Jane's order status today repeats on Slack when she asks a person about it.
    person = next(
        seen[c] for p, c in zip(plan, demo.held, strict=True)
        if p.script == "handoff_resolved_by_person"
    )  # fmt: skip
    assert person.tier == "gold" and person["is_repeat"]
    assert person.could_have_handled is True

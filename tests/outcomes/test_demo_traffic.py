"""The demo traffic's contacts, folded with the simulated clock, against hand-computed
metrics (SQLite and PostgreSQL).

``make demo-traffic`` holds the plan of ``scripts/demo_traffic/plan.py`` over the running
stack; its scripts are the ones ``record_trackers`` recorded, so this test folds the
recorded events of a two-day plan, each under the conversation id the demo gives it
(``rest:SIM1D-…`` for yesterday's), through the outcome writer with the simulated clock
on, the handoffs replayed on a real queue as the desk's agent acts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from frontline.channels.ids import conversation_id
from frontline.handoff.sql_queue import SqlHandoffQueue
from frontline.metrics.summary import compute_metrics
from frontline.outcomes.human_side import QueueReader
from frontline.outcomes.simulated_clock import days_back, shift_events, simulated_id
from scripts.demo_traffic.plan import EXPECTED, SCRIPTS, PlannedContact, build_plan
from tests.outcomes.support import Clock, make_writer, recorded
from tests.outcomes.test_folding import ReplayClock, replay_handoff

DAY = 86_400.0
T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z, "today" of the plan
GAP = 600.0  # ten minutes between two contacts


def test_the_plan_spreads_the_scripts_over_days_channels_and_customers():
    plan = build_plan(7)
    assert [c.days_back for c in plan] == sorted((c.days_back for c in plan), reverse=True)
    assert {c.days_back for c in plan} == set(range(7))
    assert {c.channel for c in plan} == {"rest", "socketio", "slack"}
    assert all(c.channel != "socketio" for c in plan if c.days_back)  # web chat: today
    assert {c.script for c in plan} == set(SCRIPTS) == set(EXPECTED)
    no_slack = build_plan(7, ("rest", "socketio"))
    assert {c.channel for c in no_slack} == {"rest", "socketio"}
    assert [c.script for c in no_slack] == [c.script for c in plan]
    with pytest.raises(ValueError):
        build_plan(0)


def test_the_simulated_clock_dates_only_marked_conversations():
    assert days_back(conversation_id("rest", simulated_id(3, "demo-1"))) == 3
    assert days_back("slack:sim12d-U0DEMO_D0X") == 12
    assert days_back("slack:SIM2DU0DEMO1_D0DEMO") == 2
    assert days_back("rest:demo-sim3d-1") == 0 and days_back("rest:jane") == 0
    assert days_back("rest:simon") == 0
    events = [{"event": "user", "timestamp": T0}, {"event": "bot"}]
    assert shift_events("rest:SIM2D-x", events) == [
        {"event": "user", "timestamp": T0 - 2 * DAY},
        {"event": "bot"},
    ]
    assert shift_events("rest:x", events) == events


def conversation_of(contact: PlannedContact) -> str:
    """The id the demo gives the contact's conversation (yesterday's start ``SIM1D``)."""
    channel = "rest" if contact.channel == "slack" else contact.channel
    return conversation_id(channel, simulated_id(contact.days_back, f"demo-{contact.number}"))


def shifted_handoff(info: dict, shift: float, number: int) -> dict:
    """The recorded handoff moved like its events, as a handoff of its own."""
    moved = dict(info, handoff_id=f"{info['handoff_id'][:20]}{number:04d}")
    for name in ("enqueued_at", "first_claimed_at", "resolved_at"):
        moved[name] = (datetime.fromisoformat(info[name]) + timedelta(seconds=shift)).isoformat()
    return moved


@pytest.fixture
def demo_result(outcome_url, unique_name):
    """The two-day plan folded as the stack's outcome writer folds it."""
    plan = build_plan(2)
    replay = ReplayClock()
    queue = SqlHandoffQueue(outcome_url, unique_name, clock=replay)
    clock = Clock(T0 + len(plan) * GAP + 31 * 60)
    writer = make_writer(outcome_url, clock=clock, queue=QueueReader(lambda: queue, True))
    writer.processor.simulated_clock = True
    for contact in plan:
        source = recorded(contact.script)
        # Held today, one after the other; the writer dates yesterday's back a day.
        start = T0 + (contact.number - 1) * GAP
        sender = conversation_of(contact)
        held = source.retimed(start, conversation_id=sender, channel=contact.channel)
        if source.handoff:
            before, after = held.split(lambda e: e["event"] == "pause")
            writer.feed(before)
            info = shifted_handoff(source.handoff, start - source.start(), contact.number)
            replay_handoff(queue, replay, sender, info)
            writer.feed(after)
        else:
            writer.feed(held.events)
    writer.processor.housekeeping(force=True)  # the abandoned ones are quiet for 31 min
    return plan, writer.store, compute_metrics(writer.store, T0 - 2 * DAY, T0 + DAY, now=clock.now)


def test_the_demo_set_has_the_hand_computed_metrics(demo_result):
    plan, store, result = demo_result
    # Yesterday: faq, abandoned cancellation, handed back (Slack), clarified.
    # Today: order status (web chat), faq (web chat), handed back (web chat), clarified,
    # resolved by a person (Slack), faq, abandoned cancellation (web chat).
    assert [(c.days_back, c.script) for c in plan][:4] == [
        (1, "faq_shipping"),
        (1, "abandoned_cancellation"),
        (1, "handoff_handed_back_resolved"),
        (1, "clarified_then_resolved"),
    ]
    o = result.overall
    assert (o.contacts, o.counted) == (11, 11)
    assert dict(o.outcomes) == {
        "resolved_by_assistant": 4,
        "resolved_after_clarification": 2,
        "resolved_by_person": 1,
        "handed_back_resolved": 2,
        "escalated": 0,
        "abandoned": 2,
    }
    assert (o.resolution.numerator, o.resolution.denominator) == (9, 11)
    assert (o.automation.numerator, o.escalation.numerator) == (6, 3)
    # Every record has the outcome its script leads to.
    for contact in plan:
        [record] = store.for_conversation(conversation_of(contact))
        kind, outcome = EXPECTED[contact.script]
        assert (record.interaction_type, record.outcome) == (kind, outcome), contact
    # The simulated clock: 4 contacts yesterday, 7 today (days since the epoch, UTC).
    today = int(T0 // DAY)
    assert {day: sum(n.values()) for day, n in result.daily.items()} == {today - 1: 4, today: 7}
    # Escalations answered at the desk: both hand-backs and the person's resolution.
    assert {r: rate.numerator for r, rate in result.escalation_reasons.items()} == {
        "customer_request": 3
    }
    assert result.queue_wait.count == 3
    # CSAT was asked after each resolution with a rating step: order status, both
    # clarified, both handed back; and in the person's contact before the handoff.
    assert o.csat_response.denominator == 6

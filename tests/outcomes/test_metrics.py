"""Metrics of the hand-made set of ``dataset.py`` against values computed by hand,
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from frontline.metrics.intervals import Rate, quantile, quantile_interval, wilson
from frontline.metrics.summary import compute_metrics
from frontline.outcomes.sql_store import SqlOutcomeStore
from tests.outcomes import dataset


@pytest.fixture
def result(outcome_url):
    store = SqlOutcomeStore(outcome_url)
    dataset.load(store)
    return compute_metrics(store, dataset.SINCE, dataset.UNTIL, now=dataset.UNTIL)


def value(rate: Rate) -> tuple[int, int, float | None]:
    return rate.numerator, rate.denominator, rate.value


def test_contact_rates(result):
    o = result.overall
    # 13 rows: one before the range; in progress and unengaged are not counted.
    assert (o.contacts, o.counted, o.in_progress, o.unengaged) == (12, 10, 1, 1)
    assert value(o.resolution) == (7, 10, 0.7)  # 1 2 3 5 6 7 10
    assert value(o.automation) == (5, 10, 0.5)  # 1 2 3 7 10
    assert value(o.escalation) == (4, 10, 0.4)  # 4 5 6 9
    assert value(o.containment) == (6, 10, 0.6)
    # Resolved, not followed by a repeat (3), not reopened (7): 1 2 5 6 10.
    assert value(o.first_contact_resolution) == (5, 10, 0.5)
    assert value(o.abandonment) == (1, 10, 0.1)
    assert value(o.repeat_contact) == (1, 10, 0.1)
    assert value(o.reopened) == (1, 10, 0.1)
    assert value(o.clarification) == (1, 10, 0.1)
    # Wilson interval of 7/10 at 95%: 0.3968 to 0.8922.
    assert o.resolution.lower == pytest.approx(0.3968, abs=1e-4)
    assert o.resolution.upper == pytest.approx(0.8922, abs=1e-4)


def test_csat_times_backend_and_forms(result):
    o = result.overall
    assert value(o.csat_top2) == (2, 5, 0.4)  # scores 5 4 2 3 1
    assert o.csat_mean == 3.0
    assert value(o.csat_coverage) == (5, 10, 0.5)
    assert value(o.csat_response) == (5, 5, 1.0)
    assert o.aht_assistant_seconds == 50.5  # 505 / 10
    assert o.aht_person_seconds == 450.0  # (600 + 300) / 2
    assert o.queue_wait_mean_seconds == 160.0  # (300 + 120 + 60) / 3
    assert value(o.failed_backend) == (2, 6, pytest.approx(1 / 3))
    assert value(o.action_completion) == (4, 6, pytest.approx(2 / 3))
    assert value(o.could_have_handled) == (1, 2, 0.5)
    assert o.mean_turns == 4.2  # 42 / 10
    # Queue waits 60 120 300: p95 linear between order statistics, 120 + 0.9 * 180.
    assert result.queue_wait.count == 3 and result.queue_wait.p95 == pytest.approx(282.0)
    # Confidence: three bins per contact of the set, ten counted contacts.
    assert result.confidence["messages"] == 40 and result.confidence["counts"][9] == 20


def test_escalation_reasons(result):
    reasons = {name: value(rate) for name, rate in result.escalation_reasons.items()}
    assert reasons == {
        "customer_request": (2, 10, 0.2),
        "backend_error": (1, 10, 0.1),
        "policy": (1, 10, 0.1),
    }
    by_channel = result.escalation_reasons_by["channel"]
    assert value(by_channel["slack"]["backend_error"]) == (1, 3, pytest.approx(1 / 3))


def test_segments(result):
    channel = result.segments["channel"]
    assert value(channel["rest"].resolution) == (3, 5, 0.6)  # 1 2 5 of 1 2 5 8 9
    assert value(channel["slack"].resolution) == (2, 3, pytest.approx(2 / 3))  # 3 10
    assert value(channel["socketio"].resolution) == (2, 2, 1.0)
    gold = result.segments["tier"]["gold"]
    assert (gold.contacts, gold.counted) == (5, 4) and value(gold.resolution) == (3, 4, 0.75)
    kinds = result.segments["interaction_type"]
    assert set(kinds) == {"check_order_status", "cancel_order", "faq", "request_human", "none"}
    assert value(kinds["cancel_order"].escalation) == (2, 3, pytest.approx(2 / 3))
    models = result.segments["model_id"]  # odd contacts on model-a
    assert value(models["model-a"].resolution) == (4, 5, 0.8)  # 1 3 5 7 of 1 3 5 7 9
    assert value(models["model-a"].automation) == (3, 5, pytest.approx(0.6))  # 1 3 7
    assert result.segments["policy_version"]["p1"].counted == 10


def test_cost_per_contact_and_savings(result):
    cost = result.cost
    # Actual: 0.12 each, plus 0.85/min x (minutes + 1.5) for the four handed off:
    # #4 4 min (check_order_status baseline, unclaimed time) 4.675, #5 10 min 9.775,
    # #6 5 min 5.525, #9 6 min (default) 6.375: 1.20 + 26.35 = 27.55.
    assert cost.cost_per_contact == pytest.approx(2.755)
    # Baseline: 0.85 x (minutes + 1.5): 4 x 4.675 + 3 x 5.525 + 2 x 3.825 + 6.375 = 49.30.
    assert cost.baseline_cost_per_contact == pytest.approx(4.93)
    assert cost.savings == pytest.approx(21.75)
    assert cost.savings_lower < 21.75 < cost.savings_upper
    assert cost.method.startswith("bootstrap")
    rest = result.cost_by["channel"]["rest"]  # 1 2 5 8 9
    # Baseline 2 x 4.675 + 2 x 5.525 + 6.375 = 26.775; actual 5 x 0.12 + 9.775 + 6.375.
    assert rest.savings == pytest.approx(10.025, abs=0.01)
    assert rest.savings_lower < rest.savings < rest.savings_upper


def test_impact_matrix(result):
    rows = {row.interaction_type: row for row in result.impact}
    order = [row.interaction_type for row in result.impact]
    assert order == ["check_order_status", "request_human", "cancel_order", "faq"]
    status = rows["check_order_status"]
    # 0.5 x 1/4 escalated + 0.2 x 1/4 clarified + 0.3 x (4.5 turns / 12) = 0.2875.
    assert status.complexity == pytest.approx(0.2875)
    assert (status.volume_share, status.recommendation) == (0.4, "automate")
    # No unresolved contact is rated: their top-2 share is the policy's prior, 0.3.
    # Resolved: (2 + 10 x 0.4) / (3 + 10) = 6/13; gap 6/13 - 0.3; 0.4 x 1/4 x gap.
    assert status.gap_source == "prior"
    assert status.csat_gap == pytest.approx(6 / 13 - 0.3, abs=1e-4)
    assert status.impact == pytest.approx(0.4 * 0.25 * (6 / 13 - 0.3), abs=1e-5)
    cancel = rows["cancel_order"]  # escalated 2/3, turns 20/3: 1/3 + 0.3 x 5/9 = 0.5
    assert (cancel.complexity, cancel.recommendation) == (pytest.approx(0.5), "assist")
    assert cancel.impact == pytest.approx(0.3 * (1 / 3) * (4 / 11 - 0.3), abs=1e-5)
    human = rows["request_human"]  # always escalated: 0.5 + 0.3 x 2/12 = 0.55
    assert (human.complexity, human.recommendation) == (pytest.approx(0.55), "assist")
    assert human.impact == pytest.approx(0.1 * 1.0 * (0.4 - 0.3), abs=1e-5)
    assert rows["faq"].impact == 0.0 and rows["faq"].recommendation == "automate"


def test_outcomes_per_day(result):
    # Contacts 12 hours apart from T0 (08:00 UTC): two per day, the first day also
    # holds the in-progress and the unengaged contact.
    day = int(dataset.T0 // 86_400)
    assert result.daily[day] == {
        "resolved_by_assistant": 1,
        "resolved_after_clarification": 1,
        "in_progress": 1,
        "unengaged": 1,
    }
    assert sum(sum(counts.values()) for counts in result.daily.values()) == 12


def test_wilson_and_quantile_intervals_by_hand():
    assert wilson(0, 10) == (pytest.approx(0.0), pytest.approx(0.2775, abs=1e-4))
    assert wilson(10, 10) == (pytest.approx(0.7225, abs=1e-4), pytest.approx(1.0))
    assert Rate.of(0, 0).value is None
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    # 100 values 1..100, B ~ Binomial(100, 0.95) values below the p95: P(B <= 89) =
    # 0.0115 and P(B >= 100) = 0.0059 are each under 2.5%, P(B <= 90) = 0.028 is not:
    # the interval runs from the 90th to the 100th value (coverage 0.983).
    lower, upper = quantile_interval([float(v) for v in range(1, 101)], 0.95)
    assert (lower, upper) == (90.0, 100.0)
    # Four values: the lower end is the third; the upper one is beyond the sample.
    assert quantile_interval([60.0, 120.0, 300.0, 900.0], 0.95) == (300.0, None)

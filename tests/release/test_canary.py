"""The canary: sticky routing shared by instances, the arms report, the guard, and audit."""

from __future__ import annotations

import pytest

from frontline.audit.store import AuditStore
from frontline.metrics.intervals import wilson
from frontline.outcomes.policy import Objective
from frontline.release.arms import compare_arms, guard_breaches
from frontline.release.canary import (
    CANDIDATE,
    PRODUCTION,
    PROMOTED,
    ROLLED_BACK,
    Canary,
    CanaryStore,
    choose_arm,
)
from frontline.release.candidate import AUDIT_KIND
from frontline.release.operations import Release
from frontline.release.policy import release_policy
from frontline.release.registry import ModelRef, Registry
from tests.release.support import fake_model

POLICY = release_policy()
DAY = 86_400.0


def test_the_share_of_customers_is_within_tolerance_for_several_percentages():
    customers = [f"customer:c{i}" for i in range(20_000)]
    for percentage in (1, 10, 25):
        share = sum(choose_arm(k, percentage, "model-canary") == CANDIDATE for k in customers)
        # Binomial standard deviation at 20,000 draws is at most 0.31 points; 1 point is >3 sd.
        assert abs(share / len(customers) * 100 - percentage) < 1.0, (percentage, share)
    # Another bucket picks other customers (the canary is independent of a flag's rollout).
    first = {k for k in customers if choose_arm(k, 10, "model-canary") == CANDIDATE}
    other = {k for k in customers if choose_arm(k, 10, "other") == CANDIDATE}
    assert len(first & other) < len(first) * 0.2


@pytest.fixture
def release(sql_url, unique_name, tmp_path) -> Release:
    fake_model(tmp_path / "models" / "frontline.tar.gz", "prod1")
    registry = Registry(tmp_path)
    registry.approve(ModelRef("cand1", "models/candidates/cand1.tar.gz", {"cv_macro_f1": 0.9}))
    return Release(
        registry, CanaryStore(sql_url, unique_name), POLICY, AuditStore(sql_url, unique_name)
    )


def test_arms_are_sticky_across_channels_and_shared_by_instances(release):
    assert release.canary.assign("web-1").arm == PRODUCTION  # no canary yet
    release.start_canary(50)  # half, so both arms show up among few customers
    other_instance = CanaryStore(release.canary.url, release.canary.name)
    arms = {}
    for i in range(40):
        customer = f"pseudonym{i}"
        seen = {
            release.canary.assign(f"{channel}-{i}", customer).arm
            for channel in ("rest", "slack", "socketio")
        }
        seen.add(other_instance.assign(f"rest-{i}", customer).arm)  # already pinned
        seen.add(other_instance.assign(f"webchat-{i}", customer).arm)  # new, same customer
        assert len(seen) == 1, customer
        arms[customer] = seen.pop()
    share = sum(arm == CANDIDATE for arm in arms.values()) / len(arms)
    assert 0.25 < share < 0.75
    candidate = next(c for c, arm in arms.items() if arm == CANDIDATE)
    assignment = release.canary.assign(f"rest-{candidate.removeprefix('pseudonym')}", candidate)
    assert assignment.model_id == "cand1"


def test_a_conversation_keeps_its_arm_when_the_customer_verifies(release):
    release.start_canary(50)
    conversations = [f"conv{i}" for i in range(40)]
    before = {c: release.canary.assign(c).arm for c in conversations}
    after = {c: release.canary.assign(c, f"someone-{c}").arm for c in conversations}
    assert before == after
    assert set(before.values()) == {PRODUCTION, CANDIDATE}


def _record(model, outcome="resolved_by_assistant", **extra):
    base = {
        "model_id": model,
        "outcome": outcome,
        "channel": "rest",
        "tier": "standard",
        "customer_key": None,
        "started_at": 1000.0,
        "escalated_at": None,
        "escalation_rule": None,
        "csat_score": None,
    }
    return {**base, **extra}


CANARY = Canary("d", "cand1", "prod1", 10, "model-canary", "active", "me", "x", 0.0, 0.0)


def test_the_arms_compared_against_hand_computed_values():
    records = [
        # production: 4 counted contacts on rest; 3 resolved, 1 escalated by a rule.
        _record("prod1", customer_key="a", csat_score=5),
        _record("prod1", customer_key="a", started_at=1000 + 3 * DAY),  # a's repeat (<7 days)
        _record("prod1", customer_key="b", csat_score=2),
        _record(
            "prod1", "escalated", escalated_at=1010.0, escalation_rule="fraud", customer_key="c"
        ),
        _record("prod1", customer_key="c", started_at=1000 + 9 * DAY),  # too late: no repeat
        # candidate: 2 counted on slack (one gold), one in progress (not counted).
        _record("cand1", channel="slack", tier="gold", csat_score=4),
        _record("cand1", "abandoned", channel="slack"),
        _record("cand1", "in_progress", channel="slack"),
        _record("other", channel="slack"),  # neither arm's model
    ]
    report = compare_arms(records, CANARY, repeat_contact_days=7, confidence=0.95)
    assert set(report) == {"all", "channel=rest", "channel=slack", "tier=gold", "tier=standard"}
    prod = report["all"]["production"]
    assert (prod["resolution"].numerator, prod["resolution"].denominator) == (4, 5)
    assert (prod["repeat_contact"].numerator, prod["repeat_contact"].denominator) == (1, 5)
    assert (prod["csat_top2"].numerator, prod["csat_top2"].denominator) == (1, 2)
    assert (prod["escalation"].numerator, prod["policy_refusal"].numerator) == (1, 1)
    assert (prod["resolution"].lower, prod["resolution"].upper) == wilson(4, 5, 0.95)
    cand = report["channel=slack"]["candidate"]
    assert (cand["resolution"].numerator, cand["resolution"].denominator) == (1, 2)
    assert cand["csat_top2"].value == 1.0
    assert report["channel=slack"]["production"]["resolution"].value is None
    assert report["tier=gold"]["candidate"]["resolution"].denominator == 1


def _breaching_records(n=40):
    """Candidate resolves 4 of 40 on rest; production 36 of 40."""
    return [
        _record("cand1", "resolved_by_assistant" if i < 4 else "abandoned") for i in range(n)
    ] + [_record("prod1", "resolved_by_assistant" if i < 36 else "abandoned") for i in range(n)]


def test_guard_breaches_follow_the_slo_rule_and_the_refusal_margin():
    objectives = [Objective("resolution_rate", "resolution_rate", 0.6, "min", ("channel",))]
    report = compare_arms(_breaching_records(), CANARY, repeat_contact_days=7, confidence=0.95)
    breaches = guard_breaches(report, objectives, min_sample=20, max_refusal_rise=0.05)
    assert [(b.segment, b.rule) for b in breaches] == [("channel=rest", "slo resolution_rate")]
    # Too few contacts: no verdict either way.
    small = compare_arms(_breaching_records(10), CANARY, repeat_contact_days=7, confidence=0.95)
    assert guard_breaches(small, objectives, min_sample=20, max_refusal_rise=0.05) == []
    refusals = [_record("cand1", escalation_rule="legal") for _ in range(30)] + [
        _record("prod1") for _ in range(30)
    ]
    report = compare_arms(refusals, CANARY, repeat_contact_days=7, confidence=0.95)
    found = guard_breaches(report, [], min_sample=20, max_refusal_rise=0.05)
    assert {b.segment for b in found} == {"all", "channel=rest", "tier=standard"}
    assert all(b.rule == "policy refusals" for b in found)


def test_the_guard_rolls_back_on_a_breach_and_audits_it(release):
    objectives = [Objective("resolution_rate", "resolution_rate", 0.6, "min", ("channel",))]
    release.start_canary()
    healthy = [_record("cand1") for _ in range(40)] + [_record("prod1") for _ in range(40)]
    assert release.guard(objectives, healthy) == []
    assert release.canary.current().status == "active"

    breaches = release.guard(objectives, _breaching_records())
    assert breaches
    assert release.canary.current().status == ROLLED_BACK
    assert release.canary.assign("any-new").arm == PRODUCTION
    assert release.registry.approved() is None
    assert release.guard(objectives, _breaching_records()) == []  # nothing left to guard
    events = [r.payload for r in release.audit.records(kind=AUDIT_KIND)]
    assert [e["event"] for e in events] == ["canary_started", "rolled_back"]
    assert events[1]["reason"] == "guardrail breached"
    assert events[1]["breaches"][0].startswith(
        "channel=rest: slo resolution_rate (resolution 10.0%"
    )
    assert (events[1]["candidate_model"], events[1]["production_model"]) == ("cand1", "prod1")


def test_canary_then_promote_ends_the_canary_and_is_audited(release):
    assert release.start_canary() == "canary cand1 serves 10% of customers"
    report = release.arms_report([_record("cand1"), _record("prod1")])
    assert report["all"]["candidate"]["resolution"].value == 1.0
    assert release.promote() == "promoted cand1 (replaces prod1)"
    assert release.canary.current().status == PROMOTED
    assert release.registry.production().model_id == "cand1"
    events = [r.payload["event"] for r in release.audit.records(kind=AUDIT_KIND)]
    assert events == ["canary_started", "promoted"]

"""SLOs judged on the hand-made set, breaches stored once and closed, and the store's
contract (optimistic saves, the desk's verdict, the drill-down), on both databases."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from frontline.metrics.slo import SloMonitor, evaluate, judge
from frontline.outcomes.policy import (
    OutcomePolicies,
    SloPolicy,
    load_outcome_policies,
    outcome_policies,
)
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.state import ContactState, derive_row
from frontline.outcomes.store import ContactNotFound
from frontline.policy import load_policy
from frontline.settings import PROJECT_ROOT
from tests.outcomes import dataset

SLO_RULES = {
    "window_hours": 169,  # the seven days of the set and one hour before T0
    "confidence": 0.95,
    "min_sample": 3,
    "evaluate_every_seconds": 60,
    "objectives": [
        {"id": "resolution", "metric": "resolution_rate", "min": 0.95},
        {"id": "resolution.channel", "metric": "resolution_rate", "min": 0.5, "per": ["channel"]},
        {"id": "csat", "metric": "csat_top2", "min": 0.5},
        {"id": "backend", "metric": "failed_backend_rate", "max": 0.02},
        {"id": "wait", "metric": "escalation_wait_p95_seconds", "max": 100},
        {"id": "gold", "metric": "resolution_rate", "min": 0.5, "where": {"tier": "gold"}},
    ],
}


def slo_policy(tmp_path: Path, rules: dict) -> SloPolicy:
    folder = tmp_path / "policies"
    (folder / "schemas").mkdir(parents=True)
    schema = PROJECT_ROOT / "policies" / "schemas" / "slo.schema.json"
    (folder / "schemas" / "slo.schema.json").write_text(schema.read_text())
    document = {"policy": "slo", "version": "9.0.0", "owner": "tests", "rules": rules}
    (folder / "slo.yml").write_text(yaml.safe_dump(document))
    return SloPolicy(load_policy("slo", folder))


@pytest.fixture
def store(outcome_url) -> SqlOutcomeStore:
    store = SqlOutcomeStore(outcome_url)
    dataset.load(store)
    return store


def test_slos_are_judged_by_their_intervals(store, tmp_path):
    policy = slo_policy(tmp_path, SLO_RULES)
    states = {(e.objective_id, e.segment): e for e in evaluate(store, policy, dataset.UNTIL)}
    # 7/10 resolved: Wilson 0.397..0.892, all below 0.95.
    resolution = states[("resolution", "all")]
    assert (resolution.state, resolution.sample, resolution.value) == ("breached", 10, 0.7)
    # Per channel against 0.5: rest 3/5 (0.23..0.88) and slack 2/3 hold it; socketio 2/2
    # (0.34..1) too: all at risk, none breached or met.
    assert {seg: e.state for (oid, seg), e in states.items() if oid == "resolution.channel"} == {
        "channel=rest": "at_risk",
        "channel=slack": "at_risk",
        "channel=socketio": "no_data",  # 2 contacts, below min_sample 3
    }
    assert states[("csat", "all")].state == "at_risk"  # 2/5: 0.12..0.77 holds 0.5
    assert states[("backend", "all")].state == "breached"  # 2/6: lower 0.097 > 0.02
    # Waits 60, 120, 300 and one still waiting (days): the p95's lower end is the third
    # of four, 300 s, already above 100 s.
    wait = states[("wait", "all")]
    assert (wait.state, wait.lower, wait.upper, wait.sample) == ("breached", 300.0, None, 4)
    assert states[("gold", "tier=gold")].state == "at_risk"  # 3/4 against 0.5


def test_breaches_are_stored_once_logged_once_and_closed(store, tmp_path, caplog):
    policy = slo_policy(tmp_path, SLO_RULES)
    base = outcome_policies()
    monitor = SloMonitor(store, OutcomePolicies(base.outcomes, base.cost, policy))
    with caplog.at_level(logging.WARNING, logger="frontline.metrics.slo"):
        monitor.tick(dataset.UNTIL)
        monitor.tick(dataset.UNTIL + 30)  # within evaluate_every_seconds: nothing
        # Another process evaluates too: the breaches are already open.
        SloMonitor(store, OutcomePolicies(base.outcomes, base.cost, policy)).tick(dataset.UNTIL)
    logged = [r.getMessage() for r in caplog.records if "SLO breach" in r.getMessage()]
    assert len(logged) == 3  # resolution, backend, wait
    assert any("resolution_rate 0.7 (interval 0.3968..0.8922, n=10)" in m for m in logged)
    open_breaches = store.slo_breaches(open_only=True)
    assert sorted(b["objective_id"] for b in open_breaches) == ["backend", "resolution", "wait"]
    status = {(e.objective_id, e.segment): e.state for e in store.slo_status()}
    assert status[("csat", "all")] == "at_risk"
    # The objective is met again: the breach closes, with its last numbers kept.
    [resolution] = [
        e for e in evaluate(store, policy, dataset.UNTIL) if e.objective_id == "resolution"
    ]
    store.record_slo_evaluations(
        [replace(resolution, state="met", evaluated_at=dataset.UNTIL + 90)]
    )
    assert sorted(b["objective_id"] for b in store.slo_breaches(open_only=True)) == [
        "backend",
        "wait",
    ]
    [closed] = [b for b in store.slo_breaches() if b["objective_id"] == "resolution"]
    assert closed["closed_at"] == dataset.UNTIL + 90 and closed["value"] == 0.7


def test_judging_rules():
    assert judge("min", 0.8, 0.5, 0.7, 50, 10) == "breached"
    assert judge("min", 0.8, 0.75, 0.9, 50, 10) == "at_risk"
    assert judge("min", 0.8, 0.81, 0.9, 50, 10) == "met"
    assert judge("max", 0.02, 0.03, 0.1, 50, 10) == "breached"
    assert judge("max", 300, 200, None, 50, 10) == "at_risk"  # upper end unknown
    assert judge("max", 300, 100, 250, 50, 10) == "met"
    assert judge("min", 0.8, 0.1, 0.2, 5, 10) == "no_data"


def test_a_save_never_overwrites_another_writers_work(outcome_url):
    store = SqlOutcomeStore(outcome_url)
    policy = outcome_policies().outcomes
    state = ContactState.new("c-1", 1_800_000_000.0)
    assert store.save([(state, derive_row(state, policy, 1_800_000_001.0))], 1.0) == set()
    mine = store.latest_states(["c-1"])["c-1"]
    theirs = store.latest_states(["c-1"])["c-1"]
    theirs.turns = 3
    assert store.save([(theirs, derive_row(theirs, policy, 2.0))], 2.0) == set()
    mine.turns = 1
    assert store.save([(mine, derive_row(mine, policy, 3.0))], 3.0) == {state.contact_id}
    assert store.get(state.contact_id)["turns"] == 3
    # A second insert of the same contact (two writers began it) is a conflict too.
    again = ContactState.new("c-1", 1_800_000_000.0)
    assert store.save([(again, derive_row(again, policy, 4.0))], 4.0) == {again.contact_id}


def test_the_desk_marks_what_the_assistant_could_have_handled(store):
    record = store.mark_could_have_handled("c04", "ana", True, "order status was there", 5.0)
    assert record["could_have_handled"] is True and record["could_have_handled_by"] == "ana"
    assert record["could_have_handled_note"] == "order status was there"
    with pytest.raises(ContactNotFound):
        store.mark_could_have_handled("nope", "ana", True, None, 5.0)
    with pytest.raises(ValueError):
        store.mark_could_have_handled("c04", "", True, None, 5.0)
    # The writer's later saves of a contact never touch the verdict.
    policy = outcome_policies().outcomes
    state = ContactState.new("c-2", 1_800_000_000.0)
    store.save([(state, derive_row(state, policy, 1.0))], 1.0)
    store.mark_could_have_handled(state.contact_id, "ben", False, None, 2.0)
    state.turns = 4
    assert store.save([(state, derive_row(state, policy, 3.0))], 3.0) == set()
    saved = store.get(state.contact_id)
    assert saved["turns"] == 4 and saved.could_have_handled is False


def test_drill_down_from_a_number_to_its_contacts(store):
    escalated = store.search(
        since=dataset.SINCE, until=dataset.UNTIL, where={"outcome": "escalated"}
    )
    assert [r.contact_id for r in escalated] == ["c09", "c04"]  # newest first
    slack = store.search(
        since=dataset.SINCE, until=dataset.UNTIL, where={"channel": "slack", "tier": ["gold"]}
    )
    assert [r.contact_id for r in slack] == ["c10"]
    with pytest.raises(ValueError):
        store.search(where={"fold_state": "{}"})


def test_the_policy_modules_check_what_their_schemas_cannot(tmp_path):
    rules = dict(SLO_RULES, objectives=[SLO_RULES["objectives"][0]] * 2)
    with pytest.raises(Exception, match="duplicate id"):
        slo_policy(tmp_path / "a", rules)
    rules = dict(SLO_RULES, objectives=[{"id": "x", "metric": "csat_top2", "min": 4}])
    with pytest.raises(Exception, match="at most 1"):
        slo_policy(tmp_path / "b", rules)
    policies = load_outcome_policies(PROJECT_ROOT / "policies")
    assert policies.outcomes.abandon_after_seconds == 1800
    assert policies.outcomes.repeat_contact_seconds == 7 * 86_400
    assert policies.cost.baseline_minutes("unknown_type") == 6.0

"""The release gate as a pure function: numbers in, verdict out."""

from __future__ import annotations

import dataclasses

import pytest

from frontline.release.gate import Figures, intent_shares, judge
from frontline.release.policy import release_policy
from tests.release.support import all_slices, slice_figures

MARGINS = release_policy().margins
CHECKS = {"data_validate": True, "test_stories": True}
# 20 messages per intent per slice, so every intent is judged (6 slices x 20 >= 12).
BASE = {
    "order_status": {"first_time": 18, "after_click": 1, "rephrase": 1},
    "cancel_order": {"first_time": 16, "after_click": 2, "rephrase": 1, "misrouted": 1},
}


def test_an_identical_candidate_passes():
    verdict = judge(Figures(all_slices(BASE)), Figures(all_slices(BASE)), MARGINS, CHECKS)
    assert verdict.promote, verdict.failures
    assert verdict.comparison["slices"]["holdout"]["resolved"]["delta"] == 0
    assert verdict.comparison["per_intent"]["cancel_order"]["judged"] is True


def test_intent_shares_by_hand():
    shares = intent_shares({"first_time": 16, "after_click": 2, "rephrase": 1, "misrouted": 1})
    assert shares == {
        "messages": 20,
        "first_time": 0.8,
        "after_click": 0.1,
        "rephrase": 0.05,
        "misrouted": 0.05,
        "resolved": pytest.approx(0.9),
    }


def test_a_failed_check_rejects_even_a_better_model():
    verdict = judge(
        Figures(all_slices(BASE)),
        Figures(all_slices(BASE)),
        MARGINS,
        {"data_validate": True, "test_stories": False},
    )
    assert not verdict.promote
    assert verdict.failures == ("check test_stories did not pass",)


def test_one_intent_misrouted_more_is_rejected_with_its_numbers():
    worse = dict(BASE, cancel_order={"first_time": 14, "after_click": 2, "misrouted": 4})
    verdict = judge(Figures(all_slices(BASE)), Figures(all_slices(worse)), MARGINS, CHECKS)
    assert not verdict.promote
    # Per intent: resolved 90% -> 80% (drop 0.10, at the margin: allowed), misrouted
    # 5% -> 20% (rise 0.15 > 0.08: rejected); per slice misrouted 2.5% -> 10%.
    assert "intent cancel_order: misrouted 5.0% -> 20.0% is beyond max_misrouted_rise 0.08" in (
        verdict.failures
    )
    assert not any(f.startswith("intent cancel_order: resolved") for f in verdict.failures)
    assert "slice holdout: misrouted 2.5% -> 10.0% is beyond max_misrouted_rise 0.01" in (
        verdict.failures
    )
    row = verdict.comparison["per_intent"]["cancel_order"]
    assert row["production"]["misrouted"] == 0.05 and row["candidate"]["misrouted"] == 0.2


def test_a_small_intent_is_reported_but_not_judged():
    small = {"rare": {"first_time": 1}}
    worse = {"rare": {"misrouted": 1}}
    prod = {name: slice_figures(BASE) for name in MARGINS.slices}
    cand = {name: slice_figures(BASE) for name in MARGINS.slices}
    prod["holdout"]["per_intent"] = {**BASE, **small}
    cand["holdout"]["per_intent"] = {**BASE, **worse}
    verdict = judge(Figures(prod), Figures(cand), MARGINS, CHECKS)
    assert verdict.promote, verdict.failures
    assert verdict.comparison["per_intent"]["rare"]["judged"] is False


def test_a_slice_missing_for_one_model_rejects():
    cand = all_slices(BASE)
    del cand["non_native"]
    verdict = judge(Figures(all_slices(BASE)), Figures(cand), MARGINS, CHECKS)
    assert verdict.failures == ("slice non_native: not measured for both models",)


def test_out_of_scope_and_cross_validation_margins():
    verdict = judge(
        Figures(all_slices(BASE, oos_caught=0.95), cv_macro_f1=0.90),
        Figures(all_slices(BASE, oos_caught=0.92), cv_macro_f1=0.87),
        MARGINS,
        CHECKS,
    )
    assert not verdict.promote
    assert any("out_of_scope_caught 95.0% -> 92.0%" in f for f in verdict.failures)
    assert verdict.failures[-1].startswith("cross-validation: macro-F1 0.900 -> 0.870")
    assert verdict.comparison["cross_validation"]["delta"] == pytest.approx(-0.03)


def test_a_better_candidate_passes_and_margins_come_from_the_policy():
    better = dict(BASE, cancel_order={"first_time": 19, "after_click": 1})
    assert judge(Figures(all_slices(BASE)), Figures(all_slices(better)), MARGINS, CHECKS).promote
    strict = dataclasses.replace(
        MARGINS, intent=dataclasses.replace(MARGINS.intent, max_resolved_drop=0.0)
    )
    worse = dict(BASE, order_status={"first_time": 18, "rephrase": 2})
    verdict = judge(Figures(all_slices(BASE)), Figures(all_slices(worse)), strict, CHECKS)
    assert "intent order_status: resolved 95.0% -> 90.0% is beyond max_resolved_drop 0" in (
        verdict.failures
    )

"""The canary report: the two arms side by side per segment, with confidence intervals.

:func:`compare_arms` is pure: it takes outcome records (mappings with the columns of
``contact_outcomes``) and the canary, and gives per arm and segment (``all``, each
channel, each tier) five rates with Wilson intervals (:class:`frontline.metrics.intervals.Rate`):

* ``resolution``: resolved (by the assistant or a person) among counted contacts;
* ``repeat_contact``: counted contacts the same customer followed with another contact
  within ``repeat_contact_days`` (in either arm);
* ``csat_top2``: scores of 4 or 5 among scored contacts;
* ``escalation``: contacts handed to a person among counted contacts;
* ``policy_refusal``: contacts where a policy rule stopped the assistant
  (``escalation_rule`` set) among counted contacts.

An outcome record belongs to the arm whose model answered it (its ``model_id``).
:func:`guard_breaches` judges the candidate arm against the SLOs and the refusal margin.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from frontline.metrics.intervals import Rate
from frontline.metrics.slo import judge as judge_objective
from frontline.outcomes.model import COUNTED_OUTCOMES, RESOLVED_OUTCOMES
from frontline.outcomes.policy import Objective
from frontline.release.canary import ARMS, CANDIDATE, PRODUCTION, Canary

METRICS = ("resolution", "repeat_contact", "csat_top2", "escalation", "policy_refusal")
SEGMENT_DIMENSIONS = ("channel", "tier")
#: The SLO metrics this report can judge, by their name here.
SLO_METRICS = {"resolution_rate": "resolution", "csat_top2": "csat_top2"}
BREACHED = "breached"


def _counts() -> dict[str, list[int]]:
    return {name: [0, 0] for name in METRICS}


def repeat_flags(records: Sequence[Mapping[str, Any]], window_seconds: float) -> list[bool]:
    """Per record: did the same customer start another contact within the window after it?"""
    by_customer: dict[str, list[float]] = defaultdict(list)
    for record in records:
        if record.get("customer_key"):
            by_customer[str(record["customer_key"])].append(float(record["started_at"]))
    for starts in by_customer.values():
        starts.sort()
    flags = []
    for record in records:
        key, start = record.get("customer_key"), float(record["started_at"])
        later = [s for s in by_customer.get(str(key), ()) if start < s <= start + window_seconds]
        flags.append(bool(key) and bool(later))
    return flags


def compare_arms(
    records: Iterable[Mapping[str, Any]],
    canary: Canary,
    *,
    repeat_contact_days: float,
    confidence: float,
) -> dict[str, dict[str, dict[str, Rate]]]:
    """Segment label -> arm -> metric -> rate (records of neither model are left out)."""
    rows = list(records)
    repeats = repeat_flags(rows, repeat_contact_days * 86_400.0)
    arm_of = {canary.production_model: PRODUCTION, canary.candidate_model: CANDIDATE}
    tallies: dict[str, dict[str, dict[str, list[int]]]] = defaultdict(
        lambda: {arm: _counts() for arm in ARMS}
    )
    for record, repeated in zip(rows, repeats, strict=True):
        arm = arm_of.get(str(record.get("model_id")))
        if arm is None or record.get("outcome") not in COUNTED_OUTCOMES:
            continue
        segments = ["all"] + [f"{dim}={record.get(dim) or 'unknown'}" for dim in SEGMENT_DIMENSIONS]
        observed = {
            "resolution": record.get("outcome") in RESOLVED_OUTCOMES,
            "repeat_contact": repeated,
            "escalation": record.get("escalated_at") is not None,
            "policy_refusal": bool(record.get("escalation_rule")),
        }
        score = record.get("csat_score")
        for segment in segments:
            counts = tallies[segment][arm]
            for name, hit in observed.items():
                counts[name][0] += int(hit)
                counts[name][1] += 1
            if score is not None:
                counts["csat_top2"][0] += int(score >= 4)
                counts["csat_top2"][1] += 1
    return {
        segment: {
            arm: {name: Rate.of(n, d, confidence) for name, (n, d) in counts.items()}
            for arm, counts in arms.items()
        }
        for segment, arms in sorted(tallies.items())
    }


@dataclass(frozen=True)
class Breach:
    """Why the guard rolls the canary back."""

    segment: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.segment}: {self.rule} ({self.detail})"


def _objective_segments(objective: Objective, segment: str) -> bool:
    """Whether an SLO applies to a report segment (``all``, ``channel=x``, ``tier=y``)."""
    if segment == "all":
        return not objective.per and not objective.where
    dimension, _, value = segment.partition("=")
    if objective.where:
        return dict(objective.where) == {dimension: value}
    return dimension in objective.per


def guard_breaches(
    report: Mapping[str, Mapping[str, Mapping[str, Rate]]],
    objectives: Sequence[Objective],
    *,
    min_sample: int,
    max_refusal_rise: float,
) -> list[Breach]:
    """The candidate arm's breaches: an SLO whose whole interval is on the wrong side of
    its target (the SLO monitor's rule, :func:`frontline.metrics.slo.judge`), or policy
    refusals whose interval lies wholly above production's rate plus the margin."""
    breaches = []
    for segment, arms in report.items():
        candidate, production = arms[CANDIDATE], arms[PRODUCTION]
        for objective in objectives:
            metric = SLO_METRICS.get(objective.metric)
            if metric is None or not _objective_segments(objective, segment):
                continue
            rate = candidate[metric]
            state = judge_objective(
                objective.direction,
                objective.target,
                rate.lower,
                rate.upper,
                rate.denominator,
                min_sample,
            )
            if state == BREACHED:
                breaches.append(
                    Breach(
                        segment,
                        f"slo {objective.objective_id}",
                        f"{metric} {rate.value:.1%} [{rate.lower:.1%}, {rate.upper:.1%}] "
                        f"vs {objective.direction} {objective.target:g}",
                    )
                )
        refusal, baseline = candidate["policy_refusal"], production["policy_refusal"]
        if (
            refusal.denominator >= min_sample
            and baseline.value is not None
            and refusal.lower is not None
            and refusal.lower > baseline.value + max_refusal_rise
        ):
            breaches.append(
                Breach(
                    segment,
                    "policy refusals",
                    f"{refusal.value:.1%} [{refusal.lower:.1%}, {refusal.upper:.1%}] vs "
                    f"production {baseline.value:.1%} + {max_refusal_rise:g}",
                )
            )
    return breaches


def report_markdown(report: Mapping[str, Mapping[str, Mapping[str, Rate]]], canary: Canary) -> str:
    """The arms side by side, one table per segment."""
    lines = [
        f"# Canary {canary.candidate_model} ({canary.percentage:g}%) vs "
        f"production {canary.production_model}: {canary.status}",
    ]
    for segment, arms in report.items():
        lines += ["", f"## {segment}", "", "| metric | production | candidate |", "|---|---|---|"]
        for name in METRICS:
            cells = []
            for arm in ARMS:
                rate = arms[arm][name]
                cells.append(
                    "-"
                    if rate.value is None
                    else f"{rate.value:.1%} [{rate.lower:.1%}, {rate.upper:.1%}] "
                    f"n={rate.denominator}"
                )
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

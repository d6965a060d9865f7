"""Every metric of a date range, segmented: what the report, ``/metrics`` and the desk's
Insights view show.

    from frontline.metrics import compute_metrics
    result = compute_metrics(store, since, until)
    result.overall.resolution.value        # 0.71
    result.segments["channel"]["slack"]    # SegmentMetrics of Slack contacts
    result.as_dict()                       # JSON-able, for an API

Contacts belong to the range by when they started: ``since <= started_at < until``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from frontline.metrics.aggregate import (
    DIMENSIONS,
    ROW_COLUMNS,
    contact_rows,
    daily_outcomes,
    reason_counts,
    segment_sums,
)
from frontline.metrics.compute import (
    SegmentMetrics,
    confidence_distribution,
    metrics_from_sums,
    reason_rates,
)
from frontline.metrics.cost import CostResult, contact_costs, savings
from frontline.metrics.impact import ImpactRow, csat_splits, impact_matrix
from frontline.metrics.intervals import Rate, quantile, quantile_interval
from frontline.metrics.slo import evaluate, status_rows
from frontline.outcomes.policy import OutcomePolicies, outcome_policies
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.store import SloEvaluation

_COLUMN = {name: index for index, name in enumerate(ROW_COLUMNS)}


@dataclass(frozen=True)
class WaitSummary:
    """Queue waits of handed-off contacts: count, mean, p95 and the p95's interval."""

    count: int
    p50: float | None
    p95: float | None
    p95_lower: float | None
    p95_upper: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class MetricsResult:
    """The metrics of one date range (see the module's docstring)."""

    since: float
    until: float
    overall: SegmentMetrics
    segments: Mapping[str, Mapping[str, SegmentMetrics]]
    escalation_reasons: Mapping[str, Rate]
    escalation_reasons_by: Mapping[str, Mapping[str, Mapping[str, Rate]]]
    confidence: Mapping[str, Any]
    confidence_by: Mapping[str, Mapping[str, Mapping[str, Any]]]
    queue_wait: WaitSummary
    queue_wait_by: Mapping[str, Mapping[str, WaitSummary]]
    cost: CostResult
    cost_by: Mapping[str, Mapping[str, CostResult]]
    impact: list[ImpactRow]
    daily: Mapping[int, Mapping[str, int]]
    slo: list[SloEvaluation]
    policy_versions: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able."""

        def nested(mapping: Mapping[str, Any]) -> Any:
            return {
                k: (
                    v.as_dict()
                    if hasattr(v, "as_dict")
                    else nested(v)
                    if isinstance(v, Mapping)
                    else v
                )
                for k, v in mapping.items()
            }

        return {
            "since": self.since,
            "until": self.until,
            "overall": self.overall.as_dict(),
            "segments": nested(self.segments),
            "escalation_reasons": nested(self.escalation_reasons),
            "escalation_reasons_by": nested(self.escalation_reasons_by),
            "confidence": dict(self.confidence),
            "confidence_by": nested(self.confidence_by),
            "queue_wait": self.queue_wait.as_dict(),
            "queue_wait_by": nested(self.queue_wait_by),
            "cost": self.cost.as_dict(),
            "cost_by": nested(self.cost_by),
            "impact": [row.as_dict() for row in self.impact],
            "daily": {str(day): dict(counts) for day, counts in self.daily.items()},
            "slo": status_rows(self.slo),
            "policy_versions": dict(self.policy_versions),
        }


def wait_summary(waits: list[float], confidence: float) -> WaitSummary:
    values = sorted(waits)
    lower, upper = quantile_interval(values, 0.95, confidence)
    return WaitSummary(len(values), quantile(values, 0.5), quantile(values, 0.95), lower, upper)


def compute_metrics(
    store: SqlOutcomeStore,
    since: float,
    until: float,
    *,
    policies: OutcomePolicies | None = None,
    confidence: float = 0.95,
    now: float | None = None,
    where: Mapping[str, Any] | None = None,
) -> MetricsResult:
    """Every metric of the contacts started in ``[since, until)``.

    Args:
        policies: Outcome, cost and SLO policies (loaded from ``policies/`` by default).
        confidence: Of every interval.
        now: The SLOs are evaluated on their window ending at ``min(until, now)``.
        where: Only the contacts of one segment (column -> value, e.g. ``{"channel":
            "slack", "tier": "gold"}``; columns of :data:`DIMENSIONS`). The SLOs are
            judged as the policy says, whatever the filter.

    Raises:
        ValueError: ``where`` names a column that is not a dimension.
    """
    policies = policies or outcome_policies()
    where = dict(where or {})
    unknown = sorted(set(where) - set(DIMENSIONS))
    if unknown:
        raise ValueError(f"cannot filter by {', '.join(unknown)}")
    # One scan grouped by all five dimensions at once; sums add up, so every
    # segmentation (and the overall figure) is rolled up from it exactly.
    combinations = segment_sums(store, since, until, DIMENSIONS, where)
    overall = metrics_from_sums(rollup(combinations, None).get((), {}), confidence)
    segments = {
        dimension: {
            key[0]: metrics_from_sums(sums, confidence)
            for key, sums in sorted(rollup(combinations, index).items())
        }
        for index, dimension in enumerate(DIMENSIONS)
    }
    reasons = reason_rates(
        reason_counts(store, since, until, where=where).get((), {}), overall.counted, confidence
    )
    reasons_by = {
        dimension: {
            key[0]: reason_rates(counts, segments[dimension][key[0]].counted, confidence)
            for key, counts in reason_counts(store, since, until, dimension, where).items()
            if key[0] in segments[dimension]
        }
        for dimension in DIMENSIONS
    }
    rows = list(contact_rows(store, since, until, where))
    groups = _by_dimension(rows)
    confidence_all, confidence_by = _confidence(rows, groups)
    waits_all, waits_by = _waits(rows, groups, confidence)
    cost_all, cost_by = _costs(rows, groups, policies)
    splits = csat_splits(
        (row[_COLUMN["interaction_type"]], row[_COLUMN["outcome"]], row[_COLUMN["csat_score"]])
        for row in rows
    )
    impact = impact_matrix(segments["interaction_type"], splits, policies.outcomes)
    slo_at = min(until, now if now is not None else time.time())
    return MetricsResult(
        since=since,
        until=until,
        overall=overall,
        segments=segments,
        escalation_reasons=reasons,
        escalation_reasons_by=reasons_by,
        confidence=confidence_all,
        confidence_by=confidence_by,
        queue_wait=waits_all,
        queue_wait_by=waits_by,
        cost=cost_all,
        cost_by=cost_by,
        impact=impact,
        daily=daily_outcomes(store, since, until, where),
        slo=evaluate(store, policies.slo, slo_at),
        policy_versions=policies.versions,
    )


def _by_dimension(rows: list[tuple[Any, ...]]) -> Groups:
    """Row indices per dimension and segment value."""
    groups: dict[str, dict[str, list[int]]] = {d: {} for d in DIMENSIONS}
    for index, row in enumerate(rows):
        for dimension in DIMENSIONS:
            value = row[_COLUMN[dimension]]
            groups[dimension].setdefault(str(value) if value is not None else "none", []).append(
                index
            )
    return groups


def rollup(
    combinations: Mapping[tuple[str, ...], Mapping[str, float]], index: int | None
) -> dict[tuple[str, ...], dict[str, float]]:
    """Sums per value of the ``index``-th dimension (all together when None)."""
    result: dict[tuple[str, ...], dict[str, float]] = {}
    for key, sums in combinations.items():
        target = result.setdefault(() if index is None else (key[index],), {})
        for name, amount in sums.items():
            target[name] = target.get(name, 0.0) + amount
    return result


Groups = dict[str, dict[str, list[int]]]


def _confidence(rows: list[tuple[Any, ...]], groups: Groups) -> tuple[dict[str, Any], Any]:
    column = _COLUMN["confidence_hist"]
    histograms = np.zeros((len(rows), 10), dtype=np.int64)
    for index, row in enumerate(rows):
        counts = json.loads(row[column] or "[]")[:10]
        histograms[index, : len(counts)] = counts
    by = {
        dimension: {
            value: confidence_distribution([histograms[indices].sum(axis=0).tolist()])
            for value, indices in sorted(values.items())
        }
        for dimension, values in groups.items()
    }
    return confidence_distribution([histograms.sum(axis=0).tolist()]), by


def _waits(
    rows: list[tuple[Any, ...]], groups: Groups, confidence: float
) -> tuple[WaitSummary, dict[str, Any]]:
    column = _COLUMN["queue_wait_seconds"]
    waits = [row[column] for row in rows]
    by = {
        dimension: {
            value: wait_summary([waits[i] for i in indices if waits[i] is not None], confidence)
            for value, indices in sorted(values.items())
        }
        for dimension, values in groups.items()
    }
    return wait_summary([w for w in waits if w is not None], confidence), by


def _costs(
    rows: list[tuple[Any, ...]], groups: Groups, policies: OutcomePolicies
) -> tuple[CostResult, dict[str, dict[str, CostResult]]]:
    actual, baseline = contact_costs(
        [row[_COLUMN["interaction_type"]] for row in rows],
        [row[_COLUMN["escalated_at"]] is not None for row in rows],
        [row[_COLUMN["human_handle_seconds"]] for row in rows],
        policies.cost,
    )
    by = {
        dimension: {
            value: savings(
                actual[np.array(indices)],
                baseline[np.array(indices)],
                policies.cost,
                bootstrap=False,
            )
            for value, indices in sorted(values.items())
        }
        for dimension, values in groups.items()
    }
    return savings(actual, baseline, policies.cost), by

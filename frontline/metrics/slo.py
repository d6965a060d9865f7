"""Service-level objectives (``policies/slo.yml``), judged on a rolling window.

Each objective is evaluated over the contacts that started in the last
``window_hours``, once for all of them or once per segment (``per: [channel]``),
limited by ``where``. Small samples are judged by their interval, not their point:

* rates (``resolution_rate``, ``csat_top2``, ``failed_backend_rate``): Wilson interval;
* ``escalation_wait_p95_seconds``: the distribution-free interval of the 95th
  percentile of the queue waits of contacts handed off in the window; a contact still
  waiting counts with what it has waited so far (a lower bound: the estimate can only
  be too low, so a breach it shows is real);

and the state is ``breached`` only when the whole interval is on the wrong side of
the target, ``met`` when it is entirely on the right side, ``at_risk`` in between, and
``no_data`` below ``min_sample``. :class:`SloMonitor` (run by the outcome writer)
stores each evaluation, opens and closes breaches (``slo_breaches``), and logs a new
breach with its numbers; ``/metrics`` exports the state.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from frontline.metrics.aggregate import segment_sums
from frontline.metrics.intervals import quantile, quantile_interval, wilson
from frontline.outcomes.model import ESCALATED
from frontline.outcomes.policy import Objective, OutcomePolicies, SloPolicy
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.store import OutcomeStoreError, SloEvaluation
from frontline.outcomes.tables import contact_outcomes as table

logger = logging.getLogger(__name__)

MET, AT_RISK, BREACHED, NO_DATA = "met", "at_risk", "breached", "no_data"
#: Numerator and denominator sums of each rate metric (frontline.metrics.aggregate).
RATE_SUMS = {
    "resolution_rate": ("resolved", "counted"),
    "csat_top2": ("csat_top2", "csat_scored"),
    "failed_backend_rate": ("backend_failures", "backend_calls"),
}


def segment_label(values: Mapping[str, str]) -> str:
    """``all``, or ``channel=rest,tier=gold`` (keys sorted)."""
    return ",".join(f"{k}={values[k]}" for k in sorted(values)) or "all"


def judge(
    direction: str,
    target: float,
    lower: float | None,
    upper: float | None,
    sample: int,
    minimum: int,
) -> str:
    """The state of an objective from its interval (see the module's docstring)."""
    if sample < minimum:
        return NO_DATA
    if direction == "min":
        if upper is not None and upper < target:
            return BREACHED
        return MET if lower is not None and lower >= target else AT_RISK
    if lower is not None and lower > target:
        return BREACHED
    return MET if upper is not None and upper <= target else AT_RISK


def _waits(
    store: SqlOutcomeStore, since: float, until: float, where: Mapping[str, str], per: tuple
) -> dict[tuple[str, ...], list[float]]:
    """Queue waits of contacts handed off in the window, per segment (sorted)."""
    columns = [table.c[d] for d in per]
    query = sa.select(
        *columns, table.c.queue_wait_seconds, table.c.escalated_at, table.c.outcome
    ).where(table.c.escalated_at >= since, table.c.escalated_at < until)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    waits: dict[tuple[str, ...], list[float]] = {}
    with store.engine.connect() as connection:
        for row in connection.execute(query):
            key = tuple(str(v) for v in row[: len(per)])
            wait, escalated_at, outcome = row[len(per) :]
            if wait is None:
                if outcome != ESCALATED:
                    continue  # over without a claim on record: no wait known
                wait = max(until - escalated_at, 0.0)  # still waiting: so far
            waits.setdefault(key, []).append(float(wait))
    return {key: sorted(values) for key, values in waits.items()}


def evaluate_objective(
    store: SqlOutcomeStore, objective: Objective, policy: SloPolicy, now: float
) -> list[SloEvaluation]:
    """One objective's evaluations (one per segment) over the window ending ``now``."""
    since = now - policy.window_seconds
    where = dict(objective.where or {})
    per = objective.per
    results: list[tuple[Any, ...]] = []
    if objective.is_rate:
        numerator, denominator = RATE_SUMS[objective.metric]
        sums = segment_sums(store, since, now, per, where)
        for key, values in sorted(sums.items()):
            k, n = int(values.get(numerator, 0)), int(values.get(denominator, 0))
            lower, upper = wilson(k, n, policy.confidence) if n else (None, None)
            value = k / n if n else None
            results.append((key, value, lower, upper, n))
    else:
        waits = _waits(store, since, now, where, per)
        for key, samples in sorted(waits.items()):
            lower, upper = quantile_interval(samples, 0.95, policy.confidence)
            results.append((key, quantile(samples, 0.95), lower, upper, len(samples)))
    if not results:  # nothing in the window: say so rather than show nothing
        results.append((None, None, None, None, 0))
    evaluations = []
    for key, value, lower, upper, sample in results:
        segment = segment_label(where | (dict(zip(per, key, strict=True)) if key else {}))
        state = judge(
            objective.direction, objective.target, lower, upper, sample, policy.min_sample
        )
        evaluations.append(
            SloEvaluation(
                objective_id=objective.objective_id,
                segment=segment,
                metric=objective.metric,
                direction=objective.direction,
                target=objective.target,
                state=state,
                value=None if value is None else round(value, 4),
                lower=None if lower is None else round(lower, 4),
                upper=None if upper is None else round(upper, 4),
                sample=sample,
                window_start=since,
                evaluated_at=now,
            )
        )
    return evaluations


def evaluate(store: SqlOutcomeStore, policy: SloPolicy, now: float) -> list[SloEvaluation]:
    """Every objective over the window ending ``now``."""
    evaluations = []
    for objective in policy.objectives:
        evaluations += evaluate_objective(store, objective, policy, now)
    return evaluations


def describe(evaluation: SloEvaluation) -> str:
    """One line with the numbers, for the log and the report."""

    def number(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4g}"

    sign = ">=" if evaluation.direction == "min" else "<="
    return (
        f"SLO {evaluation.objective_id} [{evaluation.segment}] {evaluation.state}: "
        f"{evaluation.metric} {number(evaluation.value)} (interval {number(evaluation.lower)}"
        f"..{number(evaluation.upper)}, n={evaluation.sample}), objective {sign} "
        f"{evaluation.target:g}"
    )


class SloMonitor:
    """Evaluates, stores and logs the SLOs at most every ``evaluate_every_seconds``.

    Several processes may run one (Sanic workers, instances): the store keeps one open
    breach per objective and segment, and only the process that opened it logs it.
    """

    def __init__(self, store: SqlOutcomeStore, policies: OutcomePolicies) -> None:
        self.store = store
        self.policy = policies.slo
        self._last = float("-inf")

    def tick(self, now: float) -> list[SloEvaluation]:
        if now - self._last < self.policy.evaluate_every_seconds:
            return []
        self._last = now
        try:
            evaluations = evaluate(self.store, self.policy, now)
            opened = self.store.record_slo_evaluations(evaluations)
        except (OutcomeStoreError, sa.exc.SQLAlchemyError) as exc:
            logger.error("SLO evaluation failed: %s", exc)
            return []
        for evaluation in opened:
            logger.warning("SLO breach: %s", describe(evaluation))
        return evaluations


def status_rows(evaluations: list[SloEvaluation]) -> list[dict[str, Any]]:
    """Evaluations as dicts, breaches first."""
    order = {BREACHED: 0, AT_RISK: 1, MET: 2, NO_DATA: 3}
    ordered = sorted(evaluations, key=lambda e: (order.get(e.state, 9), e.objective_id, e.segment))
    return [evaluation.as_dict() | {"text": describe(evaluation)} for evaluation in ordered]

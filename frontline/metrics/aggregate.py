"""The sums every metric is made of, aggregated in SQL (one pass per segmentation).

:func:`segment_sums` returns, per segment value, counts and sums such as "contacts",
"resolved", "csat scored", "seconds a person handled"; the metric formulas
(:mod:`frontline.metrics.compute`) only divide them. :func:`contact_rows` fetches the
few per-contact columns that sums cannot give (percentiles, the cost bootstrap, the
confidence histogram).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from frontline.outcomes.model import (
    ABANDONED,
    AUTOMATED_OUTCOMES,
    COUNTED_OUTCOMES,
    ESCALATED,
    HANDED_BACK_RESOLVED,
    IN_PROGRESS,
    RESOLVED_AFTER_CLARIFICATION,
    RESOLVED_BY_ASSISTANT,
    RESOLVED_BY_PERSON,
    RESOLVED_OUTCOMES,
    UNENGAGED,
)
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.tables import contact_outcomes as table

#: The segmentations every metric is reported by.
DIMENSIONS = ("channel", "tier", "interaction_type", "model_id", "policy_version")
#: Segment value of contacts without one (e.g. the interaction type of an unengaged one).
NONE = "none"
ALL = "all"

_counted = table.c.outcome.in_(sorted(COUNTED_OUTCOMES))


def _count(condition: Any) -> Any:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _sum(column: Any, condition: Any = None) -> Any:
    value = column if condition is None else sa.case((condition, column), else_=None)
    return sa.func.coalesce(sa.func.sum(value), 0)


def _present(column: Any) -> Any:
    return _counted & column.is_not(None)


#: name -> SQL aggregate. Denominators and numerators of docs/metrics.md.
SUMS: dict[str, Any] = {
    "contacts": sa.func.count(),
    "counted": _count(_counted),
    "in_progress": _count(table.c.outcome == IN_PROGRESS),
    "unengaged": _count(table.c.outcome == UNENGAGED),
    RESOLVED_BY_ASSISTANT: _count(table.c.outcome == RESOLVED_BY_ASSISTANT),
    RESOLVED_AFTER_CLARIFICATION: _count(table.c.outcome == RESOLVED_AFTER_CLARIFICATION),
    RESOLVED_BY_PERSON: _count(table.c.outcome == RESOLVED_BY_PERSON),
    HANDED_BACK_RESOLVED: _count(table.c.outcome == HANDED_BACK_RESOLVED),
    ESCALATED: _count(table.c.outcome == ESCALATED),
    ABANDONED: _count(table.c.outcome == ABANDONED),
    "resolved": _count(table.c.outcome.in_(sorted(RESOLVED_OUTCOMES))),
    "automated": _count(table.c.outcome.in_(sorted(AUTOMATED_OUTCOMES))),
    "handed_off": _count(_present(table.c.escalated_at)),
    "first_contact_resolved": _count(
        table.c.outcome.in_(sorted(RESOLVED_OUTCOMES))
        & table.c.followed_by_repeat.is_(False)
        & table.c.reopened.is_(False)
    ),
    "repeats": _count(_counted & table.c.is_repeat.is_(True)),
    "followed_by_repeat": _count(_counted & table.c.followed_by_repeat.is_(True)),
    "reopened": _count(_counted & table.c.reopened.is_(True)),
    "follow_ups": _sum(table.c.follow_ups_after_resolution, _counted),
    "clarified": _count(_counted & (table.c.clarifying_questions > 0)),
    "turns": _sum(table.c.turns, _counted),
    "csat_asked": _count(table.c.csat_asked.is_(True)),
    "csat_scored": _count(table.c.csat_score.is_not(None)),
    "csat_top2": _count(table.c.csat_score >= 4),
    "csat_total": _sum(table.c.csat_score),
    "assistant_seconds": _sum(table.c.assistant_handle_seconds, _counted),
    "assistant_n": _count(_present(table.c.assistant_handle_seconds)),
    "human_seconds": _sum(table.c.human_handle_seconds, _counted),
    "human_n": _count(_present(table.c.human_handle_seconds)),
    "first_response_seconds": _sum(table.c.first_response_seconds, _counted),
    "first_response_n": _count(_present(table.c.first_response_seconds)),
    "queue_wait_seconds": _sum(table.c.queue_wait_seconds, _counted),
    "queue_wait_n": _count(_present(table.c.queue_wait_seconds)),
    "backend_calls": _sum(table.c.backend_calls, _counted),
    "backend_failures": _sum(table.c.backend_failures, _counted),
    "actions_started": _sum(table.c.actions_started, _counted),
    "actions_completed": _sum(table.c.actions_completed, _counted),
    "could_have_handled_marked": _count(table.c.could_have_handled.is_not(None)),
    "could_have_handled": _count(table.c.could_have_handled.is_(True)),
}


def _filtered(query: Any, since: float, until: float, where: Mapping[str, Any] | None) -> Any:
    query = query.where(table.c.started_at >= since).where(table.c.started_at < until)
    for column, value in (where or {}).items():
        if column not in table.c:
            raise ValueError(f"unknown column {column!r}")
        query = query.where(table.c[column] == value)
    return query


def segment_sums(
    store: SqlOutcomeStore,
    since: float,
    until: float,
    dimensions: Sequence[str] = (),
    where: Mapping[str, Any] | None = None,
) -> dict[tuple[str, ...], dict[str, float]]:
    """The :data:`SUMS` of contacts started in ``[since, until)``, per segment.

    Args:
        dimensions: Columns to group by (none: one segment, the key ``()``).
        where: Column -> value filters.
    """
    keys = [table.c[d] for d in dimensions]
    query = sa.select(*keys, *[expr.label(name) for name, expr in SUMS.items()])
    query = _filtered(query, since, until, where)
    if keys:
        query = query.group_by(*keys)
    result: dict[tuple[str, ...], dict[str, float]] = {}
    with store.engine.connect() as connection:
        for row in connection.execute(query).mappings():
            key = tuple(str(row[d]) if row[d] is not None else NONE for d in dimensions)
            sums = {name: float(row[name] or 0) for name in SUMS}
            if sums["contacts"]:
                result[key] = sums
    return result


def reason_counts(
    store: SqlOutcomeStore,
    since: float,
    until: float,
    dimension: str | None = None,
    where: Mapping[str, Any] | None = None,
) -> dict[tuple[str, ...], dict[str, int]]:
    """Contacts handed to a person per escalation reason (and per segment value)."""
    keys = [table.c[dimension]] if dimension else []
    reason = sa.func.coalesce(table.c.escalation_reason, "unknown").label("reason")
    query = sa.select(*keys, reason, sa.func.count().label("n"))
    query = _filtered(query, since, until, where).where(_present(table.c.escalated_at))
    query = query.group_by(*keys, reason)
    result: dict[tuple[str, ...], dict[str, int]] = {}
    with store.engine.connect() as connection:
        for row in connection.execute(query).mappings():
            key = (
                (str(row[dimension]) if row[dimension] is not None else NONE,) if dimension else ()
            )
            result.setdefault(key, {})[str(row["reason"])] = int(row["n"])
    return result


#: Per-contact columns :func:`contact_rows` reads.
ROW_COLUMNS = (
    "started_at",
    "outcome",
    *DIMENSIONS,
    "human_handle_seconds",
    "queue_wait_seconds",
    "escalated_at",
    "confidence_hist",
    "csat_score",
)


def contact_rows(
    store: SqlOutcomeStore,
    since: float,
    until: float,
    where: Mapping[str, Any] | None = None,
    columns: Sequence[str] = ROW_COLUMNS,
) -> Iterator[tuple[Any, ...]]:
    """The ``columns`` of every counted contact started in ``[since, until)``."""
    query = _filtered(sa.select(*[table.c[c] for c in columns]), since, until, where)
    query = query.where(_counted)
    with store.engine.connect() as connection:
        result = connection.execution_options(stream_results=True).execute(query)
        yield from result


def daily_outcomes(
    store: SqlOutcomeStore, since: float, until: float, where: Mapping[str, Any] | None = None
) -> dict[int, dict[str, int]]:
    """Contacts per day (days since the epoch, UTC) and outcome."""
    days = table.c.started_at / 86_400
    if store.engine.dialect.name == "sqlite":
        # SQLite may lack floor(); its cast truncates, and epoch seconds are positive.
        day = sa.cast(days, sa.Integer).label("day")
    else:
        day = sa.cast(sa.func.floor(days), sa.Integer).label("day")
    query = sa.select(day, table.c.outcome, sa.func.count().label("n"))
    query = _filtered(query, since, until, where).group_by(day, table.c.outcome)
    result: dict[int, dict[str, int]] = {}
    with store.engine.connect() as connection:
        for row in connection.execute(query).mappings():
            result.setdefault(int(row["day"]), {})[str(row["outcome"])] = int(row["n"])
    return result


def segment_values(store: SqlOutcomeStore, since: float, until: float) -> dict[str, list[str]]:
    """The values each of :data:`DIMENSIONS` takes among contacts started in the range
    (what a segment filter offers)."""
    result: dict[str, list[str]] = {}
    with store.engine.connect() as connection:
        for dimension in DIMENSIONS:
            column = table.c[dimension]
            query = _filtered(sa.select(column).distinct(), since, until, None).order_by(column)
            result[dimension] = [str(v) for (v,) in connection.execute(query) if v is not None]
    return result

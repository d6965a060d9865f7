"""The metric formulas: sums in, rates (with Wilson intervals) and means out.

Pure functions over the sums of :mod:`frontline.metrics.aggregate`; every formula is
written down in ``docs/metrics.md``. The denominator of the contact rates is the
*counted* contacts: engaged ones with a final outcome (``in_progress`` and
``unengaged`` are left out, as Copilot Studio leaves out unengaged sessions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from frontline.metrics.intervals import Rate
from frontline.outcomes.model import (
    ABANDONED,
    ESCALATED,
    HANDED_BACK_RESOLVED,
    RESOLVED_AFTER_CLARIFICATION,
    RESOLVED_BY_ASSISTANT,
    RESOLVED_BY_PERSON,
)

FINAL_OUTCOMES = (
    RESOLVED_BY_ASSISTANT,
    RESOLVED_AFTER_CLARIFICATION,
    RESOLVED_BY_PERSON,
    HANDED_BACK_RESOLVED,
    ESCALATED,
    ABANDONED,
)


def _mean(total: float, count: float) -> float | None:
    return round(total / count, 3) if count else None


@dataclass(frozen=True)
class SegmentMetrics:
    """Every metric of one segment (all contacts, or one channel, tier, type...).

    Rates are :class:`~frontline.metrics.intervals.Rate` (value, numerator,
    denominator, Wilson interval); times are mean seconds (None without data).
    """

    contacts: int
    counted: int
    in_progress: int
    unengaged: int
    outcomes: Mapping[str, int]
    resolution: Rate
    automation: Rate
    containment: Rate
    escalation: Rate
    first_contact_resolution: Rate
    abandonment: Rate
    repeat_contact: Rate
    reopened: Rate
    clarification: Rate
    csat_top2: Rate
    csat_mean: float | None
    csat_coverage: Rate
    csat_response: Rate
    aht_assistant_seconds: float | None
    aht_person_seconds: float | None
    first_response_seconds: float | None
    queue_wait_mean_seconds: float | None
    failed_backend: Rate
    action_completion: Rate
    could_have_handled: Rate
    #: Contacts in which an agent flagged an answer of the assistant (frontline/review).
    agent_flagged: Rate
    mean_turns: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: rates as dicts, everything else as is."""
        result: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if name == "extra":
                result.update(value)
            elif isinstance(value, Rate):
                result[name] = value.as_dict()
            else:
                result[name] = dict(value) if isinstance(value, Mapping) else value
        return result


def metrics_from_sums(sums: Mapping[str, float], confidence: float = 0.95) -> SegmentMetrics:
    """The metrics of one segment from its sums (``docs/metrics.md`` has each formula)."""
    s = {name: int(value) for name, value in sums.items()}
    n = s.get("counted", 0)

    def rate(numerator: str, denominator: int) -> Rate:
        return Rate.of(s.get(numerator, 0), denominator, confidence)

    return SegmentMetrics(
        contacts=s.get("contacts", 0),
        counted=n,
        in_progress=s.get("in_progress", 0),
        unengaged=s.get("unengaged", 0),
        outcomes={outcome: s.get(outcome, 0) for outcome in FINAL_OUTCOMES},
        resolution=rate("resolved", n),
        automation=rate("automated", n),
        containment=Rate.of(n - s.get("handed_off", 0), n, confidence),
        escalation=rate("handed_off", n),
        first_contact_resolution=rate("first_contact_resolved", n),
        abandonment=rate(ABANDONED, n),
        repeat_contact=rate("repeats", n),
        reopened=rate("reopened", n),
        clarification=rate("clarified", n),
        csat_top2=rate("csat_top2", s.get("csat_scored", 0)),
        csat_mean=_mean(sums.get("csat_total", 0), s.get("csat_scored", 0)),
        csat_coverage=rate("csat_scored", n),
        csat_response=rate("csat_scored", s.get("csat_asked", 0)),
        aht_assistant_seconds=_mean(sums.get("assistant_seconds", 0), s.get("assistant_n", 0)),
        aht_person_seconds=_mean(sums.get("human_seconds", 0), s.get("human_n", 0)),
        first_response_seconds=_mean(
            sums.get("first_response_seconds", 0), s.get("first_response_n", 0)
        ),
        queue_wait_mean_seconds=_mean(sums.get("queue_wait_seconds", 0), s.get("queue_wait_n", 0)),
        failed_backend=rate("backend_failures", s.get("backend_calls", 0)),
        action_completion=rate("actions_completed", s.get("actions_started", 0)),
        could_have_handled=rate("could_have_handled", s.get("could_have_handled_marked", 0)),
        mean_turns=_mean(sums.get("turns", 0), n),
        agent_flagged=rate("agent_flagged", n),
    )


def reason_rates(
    counts: Mapping[str, int], counted: int, confidence: float = 0.95
) -> dict[str, Rate]:
    """Escalation rate by reason: contacts handed off for the reason / counted contacts."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {reason: Rate.of(count, counted, confidence) for reason, count in ordered}


def confidence_distribution(histograms: list[list[int]]) -> dict[str, Any]:
    """The intent confidence of every customer message, as ten bins of 0.1 and shares."""
    bins = [0] * 10
    for histogram in histograms:
        for index, count in enumerate(histogram[:10]):
            bins[index] += int(count)
    total = sum(bins)
    return {
        "bins": [round(i / 10, 1) for i in range(10)],
        "counts": bins,
        "shares": [round(count / total, 4) if total else None for count in bins],
        "messages": total,
        "below_0_5": round(sum(bins[:5]) / total, 4) if total else None,
    }

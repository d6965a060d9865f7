"""The impact matrix and the impact score of each interaction type.

**Impact matrix** (volume x complexity, ``policies/outcomes.yml`` ``impact_matrix``):

* volume share = the type's counted contacts / all counted contacts;
* complexity (0..1) = ``w_escalation`` x escalation rate + ``w_clarification`` x share
  of its contacts with a clarifying question + ``w_turns`` x min(mean customer turns /
  ``turns_cap``, 1);
* recommendation: the first rule of the policy whose bounds hold (``keep_human`` for
  complex types, ``automate`` for simple frequent ones, ``assist`` otherwise).

**Impact score**: how many points of the overall CSAT top-2-box the type would add if
every one of its contacts were resolved::

    impact_t = volume_share_t x (1 - resolution_rate_t) x (top2_resolved_t - top2_unresolved_t)

The two top-2-box shares of the type are shrunk towards the shares of all resolved
(and all unresolved) contacts with ``csat_prior_strength`` pseudo-answers, so a type
with three ratings does not top the list by chance. Unresolved contacts are seldom
rated (the question follows a resolution): while none is, their share is the policy's
``unresolved_csat_top2_prior`` and the result says ``gap_source: prior``. Sorting by
impact tells the playbook which type to retrain first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from frontline.metrics.compute import SegmentMetrics
from frontline.outcomes.model import RESOLVED_OUTCOMES
from frontline.outcomes.policy import OutcomePolicy


@dataclass(frozen=True)
class CsatSplit:
    """CSAT answers of resolved and unresolved contacts: (scored, top-2-box) each."""

    resolved_scored: int = 0
    resolved_top2: int = 0
    unresolved_scored: int = 0
    unresolved_top2: int = 0


def csat_splits(rows: Iterable[tuple[str | None, str, int | None]]) -> dict[str, CsatSplit]:
    """Per interaction type, from ``(interaction_type, outcome, csat_score)`` rows."""
    counts: dict[str, list[int]] = {}
    for interaction_type, outcome, score in rows:
        if score is None:
            continue
        entry = counts.setdefault(interaction_type or "none", [0, 0, 0, 0])
        offset = 0 if outcome in RESOLVED_OUTCOMES else 2
        entry[offset] += 1
        entry[offset + 1] += int(score >= 4)
    return {kind: CsatSplit(*values) for kind, values in counts.items()}


@dataclass(frozen=True)
class ImpactRow:
    """One interaction type in the impact matrix."""

    interaction_type: str
    contacts: int
    volume_share: float
    complexity: float
    recommendation: str
    resolution_rate: float | None
    csat_gap: float | None
    gap_source: str
    impact: float | None

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def complexity(metrics: SegmentMetrics, policy: OutcomePolicy) -> float:
    """The complexity of a segment, 0..1 (see the module's docstring)."""
    weights = policy.complexity_weights
    turns = min((metrics.mean_turns or 0.0) / policy.turns_cap, 1.0)
    return round(
        weights["escalation"] * (metrics.escalation.value or 0.0)
        + weights["clarification"] * (metrics.clarification.value or 0.0)
        + weights["turns"] * turns,
        4,
    )


def recommend(complexity_value: float, volume_share: float, policy: OutcomePolicy) -> str:
    """The first matching rule's recommendation."""
    for rule in policy.matrix_rules:
        if rule.applies(complexity_value, volume_share):
            return rule.recommend
    return policy.matrix_rules[-1].recommend


def _shrunk(top2: int, scored: int, prior: float, strength: float) -> float:
    return (top2 + strength * prior) / (scored + strength) if scored + strength else prior


def impact_matrix(
    by_type: Mapping[str, SegmentMetrics],
    splits: Mapping[str, CsatSplit],
    policy: OutcomePolicy,
) -> list[ImpactRow]:
    """The impact matrix, the types with the highest impact first."""
    total = sum(m.counted for m in by_type.values())
    resolved_scored = sum(s.resolved_scored for s in splits.values())
    unresolved_scored = sum(s.unresolved_scored for s in splits.values())
    resolved_prior = (
        sum(s.resolved_top2 for s in splits.values()) / resolved_scored if resolved_scored else None
    )
    unresolved_prior = (
        sum(s.unresolved_top2 for s in splits.values()) / unresolved_scored
        if unresolved_scored
        else policy.unresolved_csat_top2_prior
    )
    source = "measured" if unresolved_scored else "prior"
    strength = policy.csat_prior_strength
    rows = []
    for kind, metrics in by_type.items():
        if not metrics.counted:
            continue
        share = metrics.counted / total
        value = complexity(metrics, policy)
        split = splits.get(kind, CsatSplit())
        gap = impact = None
        if resolved_prior is not None:
            gap = _shrunk(
                split.resolved_top2, split.resolved_scored, resolved_prior, strength
            ) - _shrunk(split.unresolved_top2, split.unresolved_scored, unresolved_prior, strength)
            unresolved = 1.0 - (metrics.resolution.value or 0.0)
            impact = round(share * unresolved * gap, 5)
            gap = round(gap, 4)
        rows.append(
            ImpactRow(
                interaction_type=kind,
                contacts=metrics.counted,
                volume_share=round(share, 4),
                complexity=value,
                recommendation=recommend(value, share, policy),
                resolution_rate=metrics.resolution.value,
                csat_gap=gap,
                gap_source=source if gap is not None else "no ratings",
                impact=impact,
            )
        )
    return sorted(rows, key=lambda r: (-(r.impact or 0.0), -r.contacts, r.interaction_type))

"""The release gate: may a candidate model replace the production model? A pure function.

Both models' figures come from the same messages: :func:`frontline.tools.nlu_slices.evaluate`
per slice (shares of right first time, after one click, asked to rephrase, misrouted, and
counts per intent) and, optionally, the cross-validated macro-F1 of their training data.
:func:`judge` compares them with the margins of ``policies/release.yml`` and returns a
:class:`Verdict` with every number it looked at, for the audit trail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from frontline.release.policy import GateMargins

IN_SCOPE_OUTCOMES = ("first_time", "after_click", "rephrase", "misrouted")
OUT_OF_SCOPE = "out_of_scope"
#: Per slice: (metric, margin attribute, +1 when a rise is bad / -1 when a drop is bad).
SLICE_RULES = (
    ("resolved", "max_resolved_drop", -1),
    ("first_time", "max_first_time_drop", -1),
    ("rephrase", "max_rephrase_rise", +1),
    ("misrouted", "max_misrouted_rise", +1),
    ("out_of_scope_caught", "max_out_of_scope_caught_drop", -1),
)
#: Rounding of the compared shares (floating-point noise must not reject a candidate).
PRECISION = 9


@dataclass(frozen=True)
class Figures:
    """One model's measurements.

    Attributes:
        slices: Slice name -> the summary of :func:`frontline.tools.nlu_slices.summarise`.
        cv_macro_f1: Cross-validated macro-F1 of its pipeline on its training data, or None
            when not measured.
    """

    slices: Mapping[str, Mapping[str, Any]]
    cv_macro_f1: float | None = None


@dataclass(frozen=True)
class Verdict:
    """What the gate decided and why."""

    promote: bool
    failures: tuple[str, ...]
    comparison: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "failures": list(self.failures),
            "comparison": self.comparison,
        }


def intent_shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Shares of each in-scope outcome and ``resolved`` for one intent's counts."""
    total = sum(counts.get(name, 0) for name in IN_SCOPE_OUTCOMES)
    shares = {name: counts.get(name, 0) / total if total else 0.0 for name in IN_SCOPE_OUTCOMES}
    shares["resolved"] = shares["first_time"] + shares["after_click"]
    return {"messages": total, **shares}


def pooled_intents(
    slices: Mapping[str, Mapping[str, Any]], names: tuple[str, ...]
) -> dict[str, Counter[str]]:
    """Outcome counts per in-scope intent, added up over the named slices."""
    pooled: dict[str, Counter[str]] = {}
    for name in names:
        for intent, counts in (slices.get(name) or {}).get("per_intent", {}).items():
            if intent != OUT_OF_SCOPE:
                pooled.setdefault(intent, Counter()).update(counts)
    return pooled


def _worse_by(production: float, candidate: float, direction: int) -> float:
    """How much worse the candidate is (positive) in the direction that is bad."""
    return round((candidate - production) * direction, PRECISION)


def judge(
    production: Figures,
    candidate: Figures,
    margins: GateMargins,
    checks: Mapping[str, bool],
) -> Verdict:
    """Compares a candidate with production; promotes only within every margin.

    Args:
        production: The production model's figures.
        candidate: The candidate's figures, on the same slices.
        margins: From ``policies/release.yml``.
        checks: Check name (``data_validate``, ``test_stories``) -> passed.

    Returns:
        The verdict, with per-slice and per-intent numbers of both models and their deltas.
    """
    failures: list[str] = []
    for name in margins.required_checks:
        if not checks.get(name, False):
            failures.append(f"check {name} did not pass")

    per_slice: dict[str, Any] = {}
    for name in margins.slices:
        prod, cand = production.slices.get(name), candidate.slices.get(name)
        if prod is None or cand is None:
            failures.append(f"slice {name}: not measured for both models")
            continue
        rows = {}
        for metric, attribute, direction in SLICE_RULES:
            worse = _worse_by(float(prod[metric]), float(cand[metric]), direction)
            limit = getattr(margins.slice, attribute)
            rows[metric] = {"production": prod[metric], "candidate": cand[metric]}
            rows[metric]["delta"] = round(float(cand[metric]) - float(prod[metric]), PRECISION)
            if worse > limit:
                failures.append(
                    f"slice {name}: {metric} {float(prod[metric]):.1%} -> "
                    f"{float(cand[metric]):.1%} is beyond {attribute} {limit:g}"
                )
        per_slice[name] = rows

    per_intent: dict[str, Any] = {}
    prod_intents = pooled_intents(production.slices, margins.slices)
    cand_intents = pooled_intents(candidate.slices, margins.slices)
    for intent in sorted(set(prod_intents) | set(cand_intents)):
        prod = intent_shares(prod_intents.get(intent, Counter()))
        cand = intent_shares(cand_intents.get(intent, Counter()))
        judged = min(prod["messages"], cand["messages"]) >= margins.intent.min_messages
        per_intent[intent] = {"production": prod, "candidate": cand, "judged": judged}
        if not judged:
            continue
        for metric, attribute, direction in (
            ("resolved", "max_resolved_drop", -1),
            ("misrouted", "max_misrouted_rise", +1),
        ):
            limit = getattr(margins.intent, attribute)
            if _worse_by(prod[metric], cand[metric], direction) > limit:
                failures.append(
                    f"intent {intent}: {metric} {prod[metric]:.1%} -> {cand[metric]:.1%} "
                    f"is beyond {attribute} {limit:g}"
                )

    cross_validation = None
    if production.cv_macro_f1 is not None and candidate.cv_macro_f1 is not None:
        drop = round(production.cv_macro_f1 - candidate.cv_macro_f1, PRECISION)
        cross_validation = {
            "production": production.cv_macro_f1,
            "candidate": candidate.cv_macro_f1,
            "delta": -drop,
        }
        if drop > margins.max_macro_f1_drop:
            failures.append(
                f"cross-validation: macro-F1 {production.cv_macro_f1:.3f} -> "
                f"{candidate.cv_macro_f1:.3f} is beyond max_macro_f1_drop "
                f"{margins.max_macro_f1_drop:g}"
            )
    comparison = {
        "checks": dict(checks),
        "slices": per_slice,
        "per_intent": per_intent,
        "cross_validation": cross_validation,
    }
    return Verdict(promote=not failures, failures=tuple(failures), comparison=comparison)

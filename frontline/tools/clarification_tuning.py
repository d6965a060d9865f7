"""Chooses the not-understood threshold, the clarify band and the ambiguity margin.

For every combination on a grid, replays :meth:`ClarificationPolicy.decide` over
cross-validated predictions (every example predicted by a model that did not see it) and
counts, for in-scope messages:

- *right first time*: answered with the right intent;
- *right after one click*: asked "Did you mean …?" with the right intent among the buttons;
- *asked to rephrase*: not understood, or asked with the right intent not among the buttons
  (the customer picks "Something else");
- *misrouted* (confidently wrong): answered with a wrong intent;

and for out-of-scope messages the share *caught*: not starting a business flow (not
understood, asked to clarify, or answered with an intent that is not one of the policy's
business intents, such as out of scope or small talk); the strict share, answered with
nothing but out of scope, is reported too (``out_of_scope_strict``).

It picks the combination with the highest ``right first time + (1 - click_cost) x right
after one click`` among those whose misroutes stay at or below ``max_misroute`` and whose
out-of-scope caught stays at or above ``min_out_of_scope``, both at the pessimistic end of
the one-sided Wilson interval (``policies/clarification.yml`` holds the targets and the
click cost). A click costs something: without it, asking on every message would win.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from frontline.nlu.clarification_policy import (
    ClarificationPolicy,
    Decision,
    Thresholds,
    TuningTargets,
)
from frontline.tools.tune_thresholds import OUT_OF_SCOPE, Prediction, wilson_bound

THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(0, 20))  # 0.00 .. 0.95
# Finer near the top: a classifier's confident mistakes (an out-of-scope "where is my ebay
# parcel" read as an order status at 0.99) sit there.
CLARIFY_GRID = tuple(round(0.05 * i, 2) for i in range(0, 19)) + (
    0.95, 0.96, 0.97, 0.98, 0.99, 1.0,
)  # fmt: skip
MARGIN_GRID = tuple(round(0.05 * i, 2) for i in range(0, 11))  # 0.00 .. 0.50


@dataclass(frozen=True)
class BandOutcome:
    """Figures for one combination; shares of in-scope (or out-of-scope) messages."""

    threshold: float
    clarify_threshold: float
    ambiguity_margin: float
    first_time: float
    after_click: float
    rephrase: float
    misrouted: float
    clarified: float
    out_of_scope_caught: float
    in_scope_messages: int
    out_of_scope_messages: int
    out_of_scope_strict: float = 0.0

    @property
    def resolved(self) -> float:
        """Right first time or after one click."""
        return self.first_time + self.after_click

    def as_dict(self) -> dict[str, float | int]:
        return {
            "threshold": self.threshold,
            "clarify_threshold": self.clarify_threshold,
            "ambiguity_margin": self.ambiguity_margin,
            "first_time": self.first_time,
            "after_click": self.after_click,
            "resolved": self.resolved,
            "rephrase": self.rephrase,
            "misrouted": self.misrouted,
            "clarified": self.clarified,
            "out_of_scope_caught": self.out_of_scope_caught,
            "out_of_scope_strict": self.out_of_scope_strict,
            "in_scope_messages": self.in_scope_messages,
            "out_of_scope_messages": self.out_of_scope_messages,
        }


def ranking_of(prediction: Prediction) -> list[tuple[str, float]]:
    """The prediction's ranking (files without one: the best intent and the runner-up)."""
    if prediction.ranking:
        return [(name, float(c)) for name, c in prediction.ranking]
    return [(prediction.predicted, prediction.confidence), ("", prediction.runner_up)]


class ReplayArrays:
    """What the decision needs of each prediction, as arrays (the grid is replayed fast)."""

    def __init__(self, predictions: Sequence[Prediction], policy: ClarificationPolicy) -> None:
        rankings = [ranking_of(p) for p in predictions]
        self.confidence = np.array([r[0][1] for r in rankings])
        self.margin = self.confidence - np.array([r[1][1] if len(r) > 1 else 0.0 for r in rankings])
        options = [policy.options(r) for r in rankings]
        self.has_options = np.array([bool(o) for o in options])
        self.in_scope = np.array([p.expected != OUT_OF_SCOPE for p in predictions])
        self.top_right = np.array(
            [r[0][0] == p.expected for r, p in zip(rankings, predictions, strict=True)]
        )
        self.right_offered = np.array(
            [p.expected in o for p, o in zip(predictions, options, strict=True)]
        )
        self.top_out_of_scope = np.array([r[0][0] == OUT_OF_SCOPE for r in rankings])
        self.top_business = np.array([r[0][0] in policy.offerable for r in rankings])

    def replay(self, threshold: float, clarify: float, margin: float) -> BandOutcome:
        fallback = self.confidence < threshold
        unclear = ~fallback & ((self.confidence < clarify) | (self.margin < margin))
        clarify_mask = unclear & self.has_options
        answer = ~fallback & ~clarify_mask
        ins, oos = self.in_scope, ~self.in_scope
        n_in, n_out = int(ins.sum()), int(oos.sum())

        def share(mask: np.ndarray, of: np.ndarray, count: int) -> float:
            return float((mask & of).sum()) / max(count, 1)

        caught = ~(answer & self.top_business)
        strict = fallback | clarify_mask | (answer & self.top_out_of_scope)
        return BandOutcome(
            threshold=threshold,
            clarify_threshold=clarify,
            ambiguity_margin=margin,
            first_time=share(answer & self.top_right, ins, n_in),
            after_click=share(clarify_mask & self.right_offered, ins, n_in),
            rephrase=share(fallback | (clarify_mask & ~self.right_offered), ins, n_in),
            misrouted=share(answer & ~self.top_right, ins, n_in),
            clarified=share(clarify_mask, ins, n_in),
            out_of_scope_caught=share(caught, oos, n_out) if n_out else 1.0,
            in_scope_messages=n_in,
            out_of_scope_messages=n_out,
            out_of_scope_strict=share(strict, oos, n_out) if n_out else 1.0,
        )


def sweep_bands(
    predictions: Sequence[Prediction],
    policy: ClarificationPolicy,
    thresholds: Iterable[float] = THRESHOLD_GRID,
    clarifies: Iterable[float] = CLARIFY_GRID,
    margins: Iterable[float] = MARGIN_GRID,
) -> list[BandOutcome]:
    """Every combination with ``threshold <= clarify_threshold`` on the grid."""
    arrays = ReplayArrays(predictions, policy)
    clarifies, margins = list(clarifies), list(margins)
    return [
        arrays.replay(t, c, m) for t in thresholds for c in clarifies if c >= t for m in margins
    ]


def within_targets(outcome: BandOutcome, targets: TuningTargets) -> bool:
    """Both targets hold at the pessimistic end of the interval."""
    misrouted = wilson_bound(
        outcome.misrouted, outcome.in_scope_messages, targets.confidence, upper=True
    )
    caught = wilson_bound(
        outcome.out_of_scope_caught, outcome.out_of_scope_messages, targets.confidence, upper=False
    )
    return misrouted <= targets.max_misroute + 1e-9 and caught >= targets.min_out_of_scope - 1e-9


def value(outcome: BandOutcome, click_cost: float) -> float:
    """What the choice maximises: a right answer after a click counts a little less."""
    return outcome.first_time + (1.0 - click_cost) * outcome.after_click


def choose_bands(
    predictions: Sequence[Prediction],
    policy: ClarificationPolicy,
    targets: TuningTargets | None = None,
    outcomes: Sequence[BandOutcome] | None = None,
) -> BandOutcome | None:
    """The best combination within the targets, or None when none meets them.

    Ties go to more out-of-scope caught, then fewer questions, then lower thresholds.
    """
    targets = targets or policy.targets
    outcomes = outcomes if outcomes is not None else sweep_bands(predictions, policy)
    allowed = [o for o in outcomes if within_targets(o, targets)]
    if not allowed:
        return None
    return max(
        allowed,
        key=lambda o: (
            round(value(o, policy.click_cost), 9),
            o.out_of_scope_caught,
            -o.clarified,
            -o.threshold,
            -o.clarify_threshold,
            -o.ambiguity_margin,
        ),
    )


def outcome_of(
    expected: str,
    ranking: Sequence[tuple[str, float]],
    policy: ClarificationPolicy,
    thresholds: Thresholds,
) -> str:
    """What happened to one message: ``first_time``, ``after_click``, ``rephrase`` or
    ``misrouted`` (in scope); ``caught`` or ``not_caught`` (out of scope)."""
    decision, options = policy.decide(ranking, thresholds)
    top = ranking[0][0] if ranking else ""
    if expected == OUT_OF_SCOPE:
        started_flow = decision is Decision.ANSWER and top in policy.offerable
        return "not_caught" if started_flow else "caught"
    if decision is Decision.ANSWER:
        return "first_time" if top == expected else "misrouted"
    if decision is Decision.CLARIFY and expected in options:
        return "after_click"
    return "rephrase"

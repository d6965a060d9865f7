"""Cost per contact and savings, from the cost model in ``policies/cost.yml``.

Per counted contact *i* of interaction type *t*::

    actual_i   = assistant_contact_cost
                 + [handed off] * agent_minute_cost * (person_minutes_i + wrap_up_minutes)
    baseline_i = agent_minute_cost * (baseline_handle_minutes[t] + wrap_up_minutes)
    savings_i  = baseline_i - actual_i

``person_minutes_i`` is the queue's handling time; for a contact still waiting for a
person it is ``baseline_handle_minutes[t]`` (what the person will likely spend).
Savings are reported with an interval that covers both the sample (which contacts
came) and the cost model's uncertainty about the baseline minutes (a factor drawn from
``1 +/- baseline_uncertainty``): a percentile bootstrap over contacts for the whole
range (up to :data:`BOOTSTRAP_MAX_CONTACTS`), and the matching normal approximation for
segments and larger ranges (fast, and close to the bootstrap once there are a few dozen
contacts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from frontline.metrics.intervals import z_value
from frontline.outcomes.policy import CostModel

#: Resamples drawn at once (bounds the bootstrap's memory: chunk x contacts indices).
_CHUNK = 50
#: Above this many contacts the savings' interval is the normal approximation: the
#: bootstrap's cost grows with resamples x contacts, and at this size the sum of
#: per-contact savings is normal to well under a cent per contact.
BOOTSTRAP_MAX_CONTACTS = 20_000


@dataclass(frozen=True)
class CostResult:
    """Cost per contact and savings of a set of contacts, in ``currency``."""

    currency: str
    contacts: int
    cost_per_contact: float | None
    baseline_cost_per_contact: float | None
    savings: float
    savings_lower: float | None
    savings_upper: float | None
    savings_per_contact: float | None
    method: str

    def as_dict(self) -> dict[str, float | int | str | None]:
        return dict(self.__dict__)


def contact_costs(
    interaction_types: Sequence[str | None],
    handed_off: Sequence[bool],
    person_seconds: Sequence[float | None],
    model: CostModel,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``actual`` and ``baseline`` cost of each contact (arrays, same order)."""
    minute = float(model.agent_minute_cost)
    wrap = model.wrap_up_minutes
    baseline_minutes = np.array([model.baseline_minutes(t) for t in interaction_types], float)
    person_minutes = np.array(
        [
            (seconds / 60.0) if seconds is not None else baseline
            for seconds, baseline in zip(person_seconds, baseline_minutes, strict=True)
        ],
        float,
    )
    person = np.asarray(handed_off, bool)
    actual = float(model.assistant_contact_cost) + person * minute * (person_minutes + wrap)
    baseline = minute * (baseline_minutes + wrap)
    return actual, baseline


def savings(
    actual: np.ndarray,
    baseline: np.ndarray,
    model: CostModel,
    *,
    bootstrap: bool = True,
    seed: int = 20261101,
) -> CostResult:
    """Total savings with an interval (bootstrap, or the normal approximation).

    The bootstrap is seeded: the same contacts give the same interval (a report is
    reproducible).
    """
    n = len(actual)
    currency = model.currency
    if n == 0:
        return CostResult(currency, 0, None, None, 0.0, None, None, None, "none")
    total = float(baseline.sum() - actual.sum())
    confidence = model.interval_confidence
    spread = model.baseline_uncertainty
    if bootstrap and 1 < n <= BOOTSTRAP_MAX_CONTACTS:
        rng = np.random.default_rng(seed)
        draws: list[np.ndarray] = []
        remaining = model.interval_resamples
        while remaining > 0:
            size = min(_CHUNK, remaining)
            picks = rng.integers(0, n, size=(size, n))
            factor = rng.uniform(1 - spread, 1 + spread, size=size)
            draws.append(factor * baseline[picks].sum(axis=1) - actual[picks].sum(axis=1))
            remaining -= size
        sample = np.concatenate(draws)
        alpha = (1 - confidence) / 2
        lower, upper = np.quantile(sample, [alpha, 1 - alpha])
        method = f"bootstrap ({model.interval_resamples} resamples)"
    else:
        per_contact = baseline - actual
        sampling = float(per_contact.std(ddof=1)) * math.sqrt(n) if n > 1 else 0.0
        model_part = float(baseline.sum()) * spread / math.sqrt(3)  # uniform factor's sd
        half = z_value(confidence) * math.hypot(sampling, model_part)
        lower, upper = total - half, total + half
        method = "normal approximation"
    return CostResult(
        currency=currency,
        contacts=n,
        cost_per_contact=round(float(actual.mean()), 4),
        baseline_cost_per_contact=round(float(baseline.mean()), 4),
        savings=round(total, 2),
        savings_lower=round(float(lower), 2),
        savings_upper=round(float(upper), 2),
        savings_per_contact=round(total / n, 4),
        method=method,
    )

"""Intervals that stay honest on small samples.

* :func:`wilson`: the Wilson score interval of a proportion (good coverage even with a
  handful of contacts or a rate near 0 or 1, unlike the normal approximation);
* :func:`quantile_interval`: the distribution-free interval of a quantile from order
  statistics (the binomial distribution of how many values fall below it);
* :class:`Rate`: a proportion with its interval, as every rate metric reports it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from scipy.stats import binom


def z_value(confidence: float) -> float:
    """The two-sided standard normal quantile (1.96 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of ``successes / trials`` (``(0, 1)`` without trials)."""
    if trials <= 0:
        return 0.0, 1.0
    z = z_value(confidence)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Rate:
    """A proportion, its numerator and denominator, and its Wilson interval."""

    numerator: int
    denominator: int
    value: float | None
    lower: float | None
    upper: float | None

    @classmethod
    def of(cls, numerator: int, denominator: int, confidence: float = 0.95) -> Rate:
        numerator, denominator = int(numerator or 0), int(denominator or 0)
        if denominator <= 0:
            return cls(numerator, denominator, None, None, None)
        lower, upper = wilson(numerator, denominator, confidence)
        return cls(numerator, denominator, numerator / denominator, lower, upper)

    def as_dict(self) -> dict[str, float | int | None]:
        return dict(self.__dict__)


def quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile, linear between order statistics (numpy's default)."""
    n = len(sorted_values)
    if n == 0:
        return None
    position = q * (n - 1)
    low = math.floor(position)
    high = min(low + 1, n - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def quantile_interval(
    sorted_values: Sequence[float], q: float, confidence: float = 0.95
) -> tuple[float | None, float | None]:
    """Distribution-free interval of the ``q`` quantile of sorted values.

    The number of values below the true quantile is Binomial(n, q); the order
    statistics at that distribution's ``(1 - confidence) / 2`` and ``(1 + confidence)
    / 2`` quantiles bracket it with at least ``confidence``. An end that would need a
    value beyond the sample is None (unknown): with 20 values the upper end of a p95
    is not known, but its lower end may already exceed a target.
    """
    n = len(sorted_values)
    if n == 0:
        return None, None
    alpha = 1 - confidence
    lower_rank = int(binom.ppf(alpha / 2, n, q))  # values certainly below: 1-based rank
    upper_rank = int(binom.ppf(1 - alpha / 2, n, q)) + 1
    lower = sorted_values[lower_rank - 1] if lower_rank >= 1 else None
    upper = sorted_values[upper_rank - 1] if upper_rank <= n else None
    return lower, upper

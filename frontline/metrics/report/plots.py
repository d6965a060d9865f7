"""The report's plots: matplotlib (bundled, offline) rendered to inline PNG data.

Nothing is fetched: each figure becomes ``data:image/png;base64,...`` inside the HTML.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402

from frontline.metrics.compute import FINAL_OUTCOMES  # noqa: E402
from frontline.metrics.impact import ImpactRow  # noqa: E402

COLOURS = {
    "resolved_by_assistant": "#2e7d32",
    "resolved_after_clarification": "#81c784",
    "resolved_by_person": "#1565c0",
    "handed_back_resolved": "#64b5f6",
    "escalated": "#ef6c00",
    "abandoned": "#9e9e9e",
}
RECOMMENDATION_COLOURS = {"automate": "#2e7d32", "assist": "#f9a825", "keep_human": "#c62828"}


def _png(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def outcomes_over_time(daily: Mapping[int, Mapping[str, int]]) -> str | None:
    """Stacked bars: contacts per day by outcome."""
    if not daily:
        return None
    days = sorted(daily)
    labels = [datetime.fromtimestamp(d * 86_400, timezone.utc).strftime("%m-%d") for d in days]
    figure, axes = plt.subplots(figsize=(9, 3.2))
    positions = list(range(len(days)))
    bottom = [0] * len(days)
    for outcome in FINAL_OUTCOMES:
        values = [daily[d].get(outcome, 0) for d in days]
        axes.bar(positions, values, bottom=bottom, color=COLOURS[outcome], label=outcome)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    step = max(len(days) // 15, 1)
    axes.set_xticks(positions[::step])
    axes.set_xticklabels(labels[::step], fontsize=7)
    axes.set_ylabel("contacts")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(figure)


def impact_matrix(rows: Sequence[ImpactRow]) -> str | None:
    """Volume share x complexity, one point per interaction type."""
    if not rows:
        return None
    figure, axes = plt.subplots(figsize=(6.5, 4.2))
    for row in rows:
        axes.scatter(
            row.volume_share,
            row.complexity,
            s=40 + 400 * row.volume_share,
            color=RECOMMENDATION_COLOURS.get(row.recommendation, "#555"),
            alpha=0.7,
        )
        axes.annotate(row.interaction_type, (row.volume_share, row.complexity), fontsize=7)
    axes.set_xlabel("volume share")
    axes.set_ylabel("complexity")
    axes.set_ylim(0, 1)
    for name, colour in RECOMMENDATION_COLOURS.items():
        axes.scatter([], [], color=colour, label=name)
    axes.legend(fontsize=7, loc="upper right")
    return _png(figure)


def bars(values: Mapping[str, float], xlabel: str) -> str | None:
    """Horizontal bars (escalation reasons)."""
    if not values:
        return None
    names = list(values)[::-1]
    figure, axes = plt.subplots(figsize=(6.5, 0.4 * len(names) + 1))
    axes.barh(names, [values[n] for n in names], color="#ef6c00")
    axes.set_xlabel(xlabel)
    return _png(figure)


def histogram(bins: Sequence[float], counts: Sequence[int], xlabel: str) -> str | None:
    """Counts per bin (the confidence distribution)."""
    if not sum(counts):
        return None
    figure, axes = plt.subplots(figsize=(6.5, 2.8))
    axes.bar([b + 0.05 for b in bins], counts, width=0.09, color="#5c6bc0")
    axes.set_xlabel(xlabel)
    axes.set_ylabel("messages")
    axes.set_xlim(0, 1)
    return _png(figure)

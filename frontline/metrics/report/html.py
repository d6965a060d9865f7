"""The static HTML report: one self-contained file (styles and plots inline, no link out).

Sections (each with an ``id``): ``summary``, ``outcomes-over-time``, ``impact-matrix``,
``escalation-reasons``, ``slo``, ``confidence``, ``cost``, ``segments``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from html import escape
from typing import Any

from frontline.metrics.compute import SegmentMetrics
from frontline.metrics.intervals import Rate
from frontline.metrics.report import plots
from frontline.metrics.slo import describe
from frontline.metrics.summary import MetricsResult

SECTIONS = (
    "summary",
    "outcomes-over-time",
    "impact-matrix",
    "escalation-reasons",
    "slo",
    "confidence",
    "cost",
    "segments",
)
STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}
.cards{display:flex;flex-wrap:wrap;gap:.8em}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em .9em;min-width:150px}
.card b{display:block;font-size:1.4em}.card small{color:#666}
.breached{color:#c62828;font-weight:bold}.at_risk{color:#ef6c00}.met{color:#2e7d32}
.no_data{color:#777}.note{color:#555;font-size:.85em}
"""


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def pct(rate: Rate | float | None) -> str:
    value = rate.value if isinstance(rate, Rate) else rate
    return "n/a" if value is None else f"{100 * value:.1f}%"


def with_interval(rate: Rate) -> str:
    if rate.value is None:
        return "n/a"
    return f"{pct(rate)} <small>[{pct(rate.lower)}–{pct(rate.upper)}] n={rate.denominator}</small>"


def seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / 60:.1f} min" if value >= 120 else f"{value:.1f} s"


def money(value: float | None, currency: str) -> str:
    return "n/a" if value is None else f"{value:,.2f} {currency}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image(data: str | None, alt: str) -> str:
    if data is None:
        return f'<p class="note">No data for {escape(alt)}.</p>'
    return f'<img alt="{escape(alt)}" src="{data}">'


def card(label: str, value: str, note: str = "") -> str:
    return (
        f'<div class="card"><small>{escape(label)}</small><b>{value}</b><small>{note}</small></div>'
    )


def summary(result: MetricsResult) -> str:
    o, cost = result.overall, result.cost
    cards = [
        card("contacts (counted)", f"{o.counted:,}", f"{o.contacts:,} in all"),
        card("resolution", pct(o.resolution), with_interval(o.resolution)),
        card("containment", pct(o.containment), "not handed to a person"),
        card("automation", pct(o.automation), "resolved by the assistant"),
        card("first-contact resolution", pct(o.first_contact_resolution)),
        card(
            "CSAT top-2-box",
            pct(o.csat_top2),
            f"mean {o.csat_mean or 'n/a'}, coverage {pct(o.csat_coverage)}",
        ),
        card("AHT assistant", seconds(o.aht_assistant_seconds)),
        card("AHT person", seconds(o.aht_person_seconds)),
        card("cost per contact", money(cost.cost_per_contact, cost.currency)),
        card(
            "savings",
            money(cost.savings, cost.currency),
            f"[{money(cost.savings_lower, cost.currency)} – "
            f"{money(cost.savings_upper, cost.currency)}]",
        ),
    ]
    return f'<div class="cards">{"".join(cards)}</div>'


SEGMENT_HEADERS = (
    "segment", "counted", "resolution", "containment", "automation", "FCR", "escalation",
    "abandoned", "CSAT top-2", "CSAT mean", "CSAT coverage", "AHT assistant", "AHT person",
    "failed backend", "action completion", "could have handled", "cost/contact",
)  # fmt: skip


def segment_rows(
    metrics: Mapping[str, SegmentMetrics], costs: Mapping[str, Any]
) -> list[list[str]]:
    rows = []
    for value, m in sorted(metrics.items(), key=lambda item: -item[1].counted):
        cost = costs.get(value)
        rows.append(
            [
                escape(value), str(m.counted), with_interval(m.resolution), pct(m.containment),
                pct(m.automation), pct(m.first_contact_resolution), pct(m.escalation),
                pct(m.abandonment), with_interval(m.csat_top2), str(m.csat_mean or "n/a"),
                pct(m.csat_coverage), seconds(m.aht_assistant_seconds),
                seconds(m.aht_person_seconds), pct(m.failed_backend), pct(m.action_completion),
                pct(m.could_have_handled),
                money(cost.cost_per_contact, cost.currency) if cost else "n/a",
            ]
        )  # fmt: skip
    return rows


def number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _impact(result: MetricsResult) -> list[str]:
    headers = ["interaction type", "contacts", "volume share", "complexity", "recommendation"]
    headers += ["resolution", "CSAT gap", "impact (top-2 points)"]
    rows = []
    for r in result.impact:
        gap = "n/a" if r.csat_gap is None else f"{r.csat_gap:+.2f} ({r.gap_source})"
        impact = "n/a" if r.impact is None else f"{100 * r.impact:.2f}"
        rows.append(
            [escape(r.interaction_type), str(r.contacts), pct(r.volume_share)]
            + [f"{r.complexity:.2f}", r.recommendation, pct(r.resolution_rate), gap, impact]
        )
    return [
        '<h2 id="impact-matrix">Impact matrix</h2>',
        image(plots.impact_matrix(result.impact), "impact matrix"),
        table(headers, rows),
    ]


def _escalations(result: MetricsResult) -> list[str]:
    reasons = result.escalation_reasons
    wait = result.queue_wait
    return [
        '<h2 id="escalation-reasons">Escalation reasons</h2>',
        image(
            plots.bars({k: v.value or 0.0 for k, v in reasons.items()}, "share of contacts"),
            "escalation reasons",
        ),
        table(
            ["reason", "contacts", "rate"],
            [[escape(k), str(v.numerator), with_interval(v)] for k, v in reasons.items()],
        ),
        "<p>Escalations a person marked 'the assistant could have handled this': "
        f"{with_interval(result.overall.could_have_handled)}. Queue wait p95: "
        f"{seconds(wait.p95)} [{seconds(wait.p95_lower)}–{seconds(wait.p95_upper)}], "
        f"n={wait.count}.</p>",
    ]


def _slo(result: MetricsResult) -> list[str]:
    rows = [
        [escape(e.objective_id), escape(e.segment), f'<span class="{e.state}">{e.state}</span>']
        + [number(e.value), f"{number(e.lower)}–{number(e.upper)}", str(e.sample)]
        + [f"{'≥' if e.direction == 'min' else '≤'} {e.target:g}"]
        for e in result.slo
    ]
    breaches = "<br>".join(escape(describe(e)) for e in result.slo if e.state == "breached")
    return [
        '<h2 id="slo">SLO state</h2>',
        table(["objective", "segment", "state", "value", "interval", "n", "target"], rows),
        f'<p class="note">{breaches or "No objective breached."}</p>',
    ]


def _confidence_and_cost(result: MetricsResult) -> list[str]:
    cost, distribution = result.cost, result.confidence
    return [
        '<h2 id="confidence">Confidence distribution</h2>',
        image(
            plots.histogram(distribution["bins"], distribution["counts"], "intent confidence"),
            "confidence distribution",
        ),
        f"<p>{distribution['messages']} customer messages; share below 0.5: "
        f"{pct(distribution['below_0_5'])}.</p>",
        '<h2 id="cost">Cost per contact and savings</h2>',
        f"<p>Cost per contact {money(cost.cost_per_contact, cost.currency)} against "
        f"{money(cost.baseline_cost_per_contact, cost.currency)} without the assistant; "
        f"savings {money(cost.savings, cost.currency)}, interval "
        f"{money(cost.savings_lower, cost.currency)} to "
        f"{money(cost.savings_upper, cost.currency)} ({escape(cost.method)}; cost model "
        "policies/cost.yml).</p>",
    ]


def render(result: MetricsResult, generated_at: float) -> str:
    """The whole report as one HTML document."""
    o = result.overall
    versions = ", ".join(f"{k} {v}" for k, v in sorted(result.policy_versions.items()))
    outcomes = ", ".join(f"{k} {v}" for k, v in o.outcomes.items())
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Frontline impact report {_day(result.since)} to {_day(result.until)}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Frontline impact report</h1>",
        f"<p>Contacts started from {_day(result.since)} to {_day(result.until)}; generated "
        f"{_day(generated_at)}. Policies: {escape(versions)}. Definitions: docs/metrics.md in "
        "the repository.</p>",
        '<h2 id="summary">Summary</h2>',
        summary(result),
        f'<p class="note">Outcomes: {escape(outcomes)}; in progress {o.in_progress}, '
        f"unengaged {o.unengaged} (not counted).</p>",
        '<h2 id="outcomes-over-time">Outcomes over time</h2>',
        image(plots.outcomes_over_time(result.daily), "outcomes per day"),
        *_impact(result),
        *_escalations(result),
        *_slo(result),
        *_confidence_and_cost(result),
        '<h2 id="segments">Segments</h2>',
    ]
    for dimension, metrics in result.segments.items():
        parts.append(f"<h3>By {escape(dimension.replace('_', ' '))}</h3>")
        costs = result.cost_by.get(dimension, {})
        parts.append(table(SEGMENT_HEADERS, segment_rows(metrics, costs)))
    parts.append("</body></html>")
    return "\n".join(parts)

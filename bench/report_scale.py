"""The report over 100,000 contacts, on SQLite and on PostgreSQL (goal: under 30 s).

    python -m bench.report_scale [--contacts 100000] [--days 30]

Generates synthetic outcome records (a seeded mix of channels, tiers, interaction
types and outcomes, with times, CSAT answers, backend calls and repeat contacts), writes
them to a fresh SQLite file and to a PostgreSQL schema of its own, then times what
``make report`` does: close quiet contacts, compute every metric (segmented five
ways, the savings bootstrap, the impact matrix, the SLOs), render the HTML with its
plots. Figures to ``bench/results/outcomes_report.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from frontline.metrics.report.html import render
from frontline.metrics.summary import compute_metrics
from frontline.outcomes.policy import outcome_policies
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.tables import contact_outcomes
from tests.support.processes import REPO_ROOT
from tests.support.servers import postgres_schema

RESULTS = REPO_ROOT / "bench" / "results"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
GOAL_SECONDS = 30.0
NOW = 1_800_000_000.0

logger = logging.getLogger(__name__)

CHANNELS = (("rest", 0.3), ("socketio", 0.5), ("slack", 0.2))
TIERS = (("gold", 0.15), ("silver", 0.3), ("bronze", 0.35), ("unknown", 0.2))
TYPES = (
    ("check_order_status", 0.3), ("cancel_order", 0.12), ("request_return", 0.1),
    ("reset_password", 0.1), ("faq", 0.15), ("list_invoices", 0.05), ("explain_charge", 0.05),
    ("change_email", 0.03), ("request_human", 0.05), ("complaint", 0.05),
)  # fmt: skip
OUTCOMES = (
    ("resolved_by_assistant", 0.5), ("resolved_after_clarification", 0.08),
    ("resolved_by_person", 0.12), ("handed_back_resolved", 0.03), ("escalated", 0.07),
    ("abandoned", 0.1), ("in_progress", 0.02), ("unengaged", 0.08),
)  # fmt: skip
REASONS = ("customer_request", "backend_error", "policy", "repeated_fallback", "complaint")


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def synthetic_rows(count: int, days: int, seed: int = 18) -> Iterator[dict[str, Any]]:
    """``count`` plausible outcome records over the ``days`` before ``NOW``."""
    rng = random.Random(seed)
    for number in range(count):
        started = NOW - rng.random() * days * 86_400
        outcome = pick(rng, OUTCOMES)
        person = outcome in ("resolved_by_person", "handed_back_resolved", "escalated")
        kind = pick(rng, TYPES) if outcome != "unengaged" else None
        scored = outcome.startswith("resolved") and rng.random() < 0.4
        calls = rng.randint(0, 3)
        hist = [0] * 10
        for _ in range(rng.randint(1, 6)):
            hist[min(int(rng.betavariate(6, 1.5) * 10), 9)] += 1
        yield {
            "contact_id": f"b{number:07d}",
            "conversation_id": f"bench-{number}",
            "started_at": started,
            "last_event_at": started + rng.uniform(20, 900),
            "last_customer_at": started + rng.uniform(10, 600),
            "channel": pick(rng, CHANNELS),
            "customer_key": f"k{rng.randint(0, count // 3):08d}",
            "customer_verified": rng.random() < 0.7,
            "tier": pick(rng, TIERS),
            "interaction_type": kind,
            "engaged": outcome != "unengaged",
            "outcome": outcome,
            "escalation_reason": rng.choice(REASONS) if person else None,
            "escalated_at": started + 60 if person else None,
            "queue_wait_seconds": rng.expovariate(1 / 240)
            if person and rng.random() < 0.9
            else None,
            "human_handle_seconds": rng.uniform(120, 1200)
            if outcome != "escalated" and person
            else None,
            "first_response_seconds": rng.uniform(0.2, 2.0),
            "assistant_handle_seconds": rng.uniform(5, 400),
            "turns": rng.randint(1, 14),
            "clarifying_questions": int(rng.random() < 0.12),
            "fallbacks": int(rng.random() < 0.1),
            "backend_calls": calls,
            "backend_failures": int(calls > 0 and rng.random() < 0.03),
            "actions_started": int(kind not in (None, "faq")),
            "actions_completed": int(kind not in (None, "faq") and rng.random() < 0.8),
            "csat_asked": scored or rng.random() < 0.2,
            "csat_score": rng.choices([1, 2, 3, 4, 5], [5, 8, 15, 35, 37])[0] if scored else None,
            "confidence_hist": json.dumps(hist),
            "confidence_mean": rng.uniform(0.5, 1.0),
            "model_id": rng.choice(("model-2026-10", "model-2026-11")),
            "policy_version": "escalation=1.1.0;outcomes=1.0.0",
            "is_repeat": rng.random() < 0.06,
            "followed_by_repeat": rng.random() < 0.06,
            "reopened": rng.random() < 0.03,
            "could_have_handled": (rng.random() < 0.3) if person else None,
            "fold_state": "{}",
            "version": 1,
            "updated_at": started + 900,
        }


def fill(store: SqlOutcomeStore, count: int, days: int) -> float:
    """Writes the synthetic records (executemany: psycopg2 batches them into multi-row
    VALUES); returns the seconds it took."""
    started = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    with store.engine.begin() as connection:
        for row in synthetic_rows(count, days):
            chunk.append(row)
            if len(chunk) == 5_000:
                connection.execute(contact_outcomes.insert(), chunk)
                chunk = []
        if chunk:
            connection.execute(contact_outcomes.insert(), chunk)
    return time.perf_counter() - started


def time_report(store: SqlOutcomeStore, days: int, out: Path) -> dict[str, float]:
    """What ``make report`` does, stage by stage."""
    policies = outcome_policies()
    since = NOW - days * 86_400
    stages: dict[str, float] = {}
    cpu = time.process_time()
    begin = time.perf_counter()
    store.close_idle(NOW, policies.outcomes.abandon_after_seconds)
    stages["close_idle_s"] = time.perf_counter() - begin
    mark = time.perf_counter()
    result = compute_metrics(store, since, NOW + 1, policies=policies, now=NOW)
    stages["metrics_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    out.write_text(render(result, NOW), encoding="utf-8")
    stages["render_s"] = time.perf_counter() - mark
    stages["total_s"] = time.perf_counter() - begin
    # The machine is shared: CPU seconds of this process are steadier than wall time
    # (the database server's own work on PostgreSQL is in the wall time only).
    stages["total_cpu_s"] = time.process_time() - cpu
    stages["contacts"] = float(result.overall.contacts)
    stages["html_kb"] = round(out.stat().st_size / 1024, 1)
    return {k: round(v, 2) for k, v in stages.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    figures: dict[str, Any] = {"contacts": args.contacts, "days": args.days, "goal_s": GOAL_SECONDS}
    figures["load_average_at_start"] = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        sqlite = SqlOutcomeStore(f"sqlite:///{folder}/outcomes.db")
        figures["sqlite"] = {"fill_s": round(fill(sqlite, args.contacts, args.days), 1)}
        figures["sqlite"] |= time_report(sqlite, args.days, Path(folder) / "report.html")
        logger.info("SQLite: %s", figures["sqlite"])
    with postgres_schema(POSTGRES_URL, "bench_outcomes") as url:
        postgres = SqlOutcomeStore(url)
        figures["postgresql"] = {"fill_s": round(fill(postgres, args.contacts, args.days), 1)}
        with tempfile.TemporaryDirectory() as folder:
            figures["postgresql"] |= time_report(postgres, args.days, Path(folder) / "r.html")
        logger.info("PostgreSQL: %s", figures["postgresql"])
    figures["meets_goal"] = all(
        figures[db]["total_s"] < GOAL_SECONDS for db in ("sqlite", "postgresql")
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "outcomes_report.json").write_text(json.dumps(figures, indent=2) + "\n")
    lines = [
        f"# Report over {args.contacts:,} contacts ({args.days} days)",
        "",
        "| database | metrics s | render s | total s (wall) | CPU s (this process) | goal |",
        "|---|---|---|---|---|---|",
    ]
    for db in ("sqlite", "postgresql"):
        f = figures[db]
        lines.append(
            f"| {db} | {f['metrics_s']} | {f['render_s']} | {f['total_s']} | "
            f"{f['total_cpu_s']} | < {GOAL_SECONDS:g} s |"
        )
    (RESULTS / "outcomes_report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""What keeping outcome records costs a turn: the event broker with and without them.

    python -m bench.outcome_broker [--duration 30] [--rounds 3] [--concurrency 8]

1. In process: the brokers as Rasa builds them from ``endpoints.yml``, the audit trail
   alone and the audit trail plus outcomes (``FanOutEventBroker``), fed the recorded
   conversations of ``tests/outcomes/trackers`` under fresh sender ids: what one
   ``publish`` costs the event loop (microseconds per event) and the outcome writer's
   CPU per customer message (its own thread, off the loop but sharing the process).
2. Through the servers: two Rasa servers on the same model, action server, sandbox and
   PostgreSQL, one with ``event_broker`` the audit broker alone (the baseline), one with
   the repository's ``endpoints.yml``; the same closed-loop conversations (bench/load.py,
   think time 1-3 s) drive them in interleaved rounds; latency per turn and the Rasa
   process's CPU per turn, per round and as the median of rounds.

Figures to ``bench/results/outcome_broker.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bench.load import run_load
from bench.scripts import FrontlineScripts
from frontline.outcomes.sql_store import SqlOutcomeStore
from tests.outcomes.support import TRACKERS, recorded
from tests.support.processes import (
    REPO_ROOT,
    ServerProcess,
    action_server_process,
    cpu_seconds,
    rasa_server_process,
    sandbox_process,
)
from tests.support.topology import fresh_postgres_database

RESULTS = REPO_ROOT / "bench" / "results"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TOKEN = "bench-" + uuid.uuid4().hex
AUDIT_ONLY = {"type": "frontline.audit.broker.AuditEventBroker"}

logger = logging.getLogger(__name__)


def sample_events(conversations: int) -> tuple[list[dict[str, Any]], int]:
    """The recorded conversations repeated under fresh sender ids; and their turns."""
    names = sorted(path.stem for path in TRACKERS.glob("*.json"))
    events, turns = [], 0
    for index in range(conversations):
        conversation = recorded(names[index % len(names)])
        sender = f"bench-{index}-{uuid.uuid4().hex[:6]}"
        for event in conversation.events:
            events.append({**event, "sender_id": sender})
            turns += event["event"] == "user"
    return events, turns


async def publish_cost(config: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, float]:
    """Publishing ``events`` through the broker built from ``config``."""
    broker = await EventBroker.create(EndpointConfig.from_dict(config))
    assert broker is not None
    threads_before = time.process_time() - time.thread_time()
    started = time.perf_counter_ns()
    for event in events:
        broker.publish(event)
    publish_ns = time.perf_counter_ns() - started
    flush = time.perf_counter()
    await broker.close()
    return {
        "publish_us_per_event": round(publish_ns / len(events) / 1000, 2),
        "flush_s": round(time.perf_counter() - flush, 2),
        "writer_cpu_s": round(time.process_time() - time.thread_time() - threads_before, 3),
    }


def in_process(folder: Path, conversations: int) -> dict[str, Any]:
    events, turns = sample_events(conversations)
    url = f"sqlite:///{folder / 'inprocess.db'}"
    audit = AUDIT_ONLY | {"url": url, "chain": "bench"}
    # No CRM in this part: tiers stay unknown (the writer asks the CRM once per customer).
    outcomes = {
        "type": "frontline.outcomes.broker.OutcomeEventBroker",
        "url": url,
        "tier_source": "none",
    }
    both = {"type": "frontline.event_brokers.FanOutEventBroker", "brokers": [audit, outcomes]}
    results = {
        "events": len(events),
        "turns": turns,
        "audit_only": asyncio.run(publish_cost(audit, events)),
        "audit_and_outcomes": asyncio.run(publish_cost(both, sample_events(conversations)[0])),
    }
    extra = results["audit_and_outcomes"]["writer_cpu_s"] - results["audit_only"]["writer_cpu_s"]
    results["outcome_writer_cpu_ms_per_turn"] = round(1000 * extra / turns, 3)
    results["records"] = len(SqlOutcomeStore(url).search(limit=1000))
    return results


def endpoints_without_outcomes(folder: Path) -> Path:
    """``endpoints.yml`` with the audit broker alone: the baseline."""
    document = yaml.safe_load((REPO_ROOT / "endpoints.yml").read_text())
    document["event_broker"] = AUDIT_ONLY
    path = folder / "endpoints-audit-only.yml"
    path.write_text(yaml.safe_dump(document))
    return path


def rasa_server(name: str, folder: Path, env: dict[str, str], endpoints: Path) -> ServerProcess:
    """The Rasa server as the tests start it (Frontline's runtime), with ``endpoints``."""
    server = rasa_server_process(
        REPO_ROOT / "models" / "frontline.tar.gz", folder, env, TOKEN, name=name
    )
    server.command = [
        str(endpoints) if part == "endpoints.yml" else part for part in server.command
    ]
    # Two servers load their models at once on a shared machine: give them time.
    server.startup_seconds = 900
    return server


def through_servers(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    with fresh_postgres_database(POSTGRES_URL, "frontline_broker_bench") as database:
        env = {
            "TRACKER_STORE_URL": database,
            "FRONTLINE_DATABASE_URL": database,
            "REDIS_URL": "",
            "RASA_TELEMETRY_ENABLED": "false",
            "FRONTLINE_PSEUDONYM_KEY": "bench-" + uuid.uuid4().hex,
            "SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": "", "SLACK_CHANNEL": "",
        }  # fmt: skip
        started: list[ServerProcess] = []
        try:
            sandbox = sandbox_process(f"sqlite:///{folder / 'sandbox.db'}", folder).start()
            started.append(sandbox)
            env["SANDBOX_URL"] = sandbox.url
            actions = action_server_process(folder, env).start()
            started.append(actions)
            env["ACTION_ENDPOINT_URL"] = f"{actions.url}/webhook"
            baseline = endpoints_without_outcomes(folder)
            servers = {
                "audit_only": rasa_server("rasa-audit", folder, env, baseline),
                "audit_and_outcomes": rasa_server(
                    "rasa-outcomes", folder, env, REPO_ROOT / "endpoints.yml"
                ),
            }
            for server in servers.values():
                started.append(server.launch())
            for server in servers.values():
                server.wait_ready()
            rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
            for number in range(args.rounds):
                for name, server in servers.items():
                    result = asyncio.run(
                        run_load(
                            target=name,
                            rasa_url=server.url,
                            token=TOKEN,
                            scripts=FrontlineScripts(seed=number),
                            load_model="think",
                            concurrency=args.concurrency,
                            duration=args.duration,
                            cpu_probe=lambda s=server: {"rasa": cpu_seconds(s.pid or 0)},
                        )
                    )
                    summary = result.summary()
                    logger.info(
                        "round %d %s: %s", number, name, json.dumps(summary["latency_all_ms"])
                    )
                    rounds[name].append(summary)
            outcome_records = len(SqlOutcomeStore(database).search(limit=1000))
        finally:
            for process in reversed(started):
                process.stop()
    summary = {
        name: {
            "p50_ms_median": statistics.median(r["latency_all_ms"]["p50"] for r in runs),
            "p95_ms_median": statistics.median(r["latency_all_ms"]["p95"] for r in runs),
            "rasa_cpu_ms_per_turn_median": statistics.median(
                r["cpu_ms_per_turn"].get("rasa", 0.0) for r in runs
            ),
            "turns": sum(r["turns"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "rounds": [
                {
                    "p50": r["latency_all_ms"]["p50"],
                    "p95": r["latency_all_ms"]["p95"],
                    "cpu_ms_per_turn": r["cpu_ms_per_turn"].get("rasa"),
                }  # fmt: skip
                for r in runs
            ],
        }
        for name, runs in rounds.items()
    }
    summary["outcome_records_written"] = outcome_records
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--skip-servers", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        figures["in_process"] = in_process(folder, args.conversations)
        logger.info("in process: %s", json.dumps(figures["in_process"]))
        if not args.skip_servers:
            figures["servers"] = through_servers(folder, args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "outcome_broker.json").write_text(json.dumps(figures, indent=2) + "\n")
    p = figures["in_process"]
    lines = [
        "# The outcome broker's cost per turn",
        "",
        f"In process ({p['events']} events, {p['turns']} customer messages): publish "
        f"{p['audit_only']['publish_us_per_event']} us/event with the audit broker alone, "
        f"{p['audit_and_outcomes']['publish_us_per_event']} us/event with outcomes too; "
        f"the outcome writer's CPU {p['outcome_writer_cpu_ms_per_turn']} ms per message.",
    ]
    if "servers" in figures:
        s = figures["servers"]
        lines += [
            "",
            "| event broker | p50 ms | p95 ms | Rasa CPU ms/turn | turns |",
            "|---|---|---|---|---|",
        ]
        for name in ("audit_only", "audit_and_outcomes"):
            f = s[name]
            lines.append(
                f"| {name} | {f['p50_ms_median']} | {f['p95_ms_median']} | "
                f"{f['rasa_cpu_ms_per_turn_median']} | {f['turns']} |"
            )
    (RESULTS / "outcome_broker.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""The audit trail, timed on SQLite and PostgreSQL (not part of ``make test``).

    python -m bench.audit_chain [--records 2000] [--writers 4]

For each backend:

* ``publish``: what Rasa's event loop pays per event with the audit event broker
  (the event is queued; the database is written by a background thread);
* ``append``: one decision record per transaction, by ``--writers`` threads at once
  (as several Rasa workers and the action server do), p50 / p95 ms and records/s;
* ``batch``: records/s when the broker's writer appends 200 per transaction;
* ``verify``: records/s checked by ``python -m frontline.audit verify``.

The chain must verify afterwards with every record on it exactly once.
Writes ``bench/results/audit_chain.json`` and ``bench/results/audit_chain.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rasa.utils.endpoints import EndpointConfig

from frontline.audit import AuditStore, NewRecord
from frontline.audit.broker import AuditEventBroker
from tests.audit.events import legal_threat_conversation
from tests.support.processes import REPO_ROOT
from tests.support.servers import POSTGRES_URL, reachable

RESULTS = REPO_ROOT / "bench" / "results"


def decision(i: int) -> dict[str, Any]:
    """A decision record of realistic size (about 1.2 kB)."""
    return {
        "conversation_id": f"bench-{i % 50}",
        "action": "action_order_status",
        "policy": "RulePolicy",
        "confidence": 1.0,
        "intent": {"name": "check_order_status", "confidence": 0.97},
        "runner_up": {"name": "cancel_order", "confidence": 0.02},
        "text": "where is my order 482913, I'm jane.doe@example.com",
        "thresholds": {"nlu_fallback_threshold": 0.6, "core_fallback_threshold": 0.3},
        "rules": [],
        "backend_calls": [
            {"action": "order_status", "result": "shown", "detail": "order 482913 is shipped"}
        ],
        "events": ["slot:order_id", "active_loop:None"],
        "model_id": uuid.uuid4().hex,
        "policy_versions": {"escalation": "1.1.0", "consent": "1.0.0", "scope": "1.0.0"},
        "rationale": "RulePolicy chose action_order_status (confidence 1.00) after intent "
        "check_order_status (0.97; runner-up cancel_order 0.02). " * 3,
    }


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def bench_backend(url: str, records: int, writers: int) -> dict[str, Any]:
    chain = f"bench-{uuid.uuid4().hex[:8]}"
    store = AuditStore(url, chain)
    store.head()  # tables exist before timing

    latencies: list[float] = []

    def append_one(i: int) -> None:
        started = time.perf_counter()
        store.append([NewRecord("decision", decision(i), f"bench-{i % 50}")])
        latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(append_one, range(records)))
    concurrent_rate = records / (time.perf_counter() - started)

    batch = [NewRecord("decision", decision(i), f"bench-{i % 50}") for i in range(records)]
    started = time.perf_counter()
    for start in range(0, records, 200):
        store.append(batch[start : start + 200])
    batch_rate = records / (time.perf_counter() - started)

    started = time.perf_counter()
    result = store.verify()
    verify_seconds = time.perf_counter() - started
    assert result.ok and result.records == 2 * records, result

    publish = asyncio.run(bench_publish(url, f"{chain}-broker"))
    return {
        "append_p50_ms": round(statistics.median(latencies), 2),
        "append_p95_ms": round(percentile(latencies, 0.95), 2),
        "append_per_s": round(concurrent_rate, 1),
        "batch_per_s": round(batch_rate, 1),
        "verify_per_s": round(result.records / verify_seconds, 1),
        "publish_us": publish,
    }


async def bench_publish(url: str, chain: str) -> float:
    """Microseconds per ``publish`` call: what the Rasa event loop pays per event."""
    broker = await AuditEventBroker.from_endpoint_config(EndpointConfig(url=url, chain=chain))
    events = [{"sender_id": f"c{i}", **e} for i in range(100) for e in legal_threat_conversation()]
    started = time.perf_counter()
    for event in events:
        broker.publish(event)
    per_event = (time.perf_counter() - started) / len(events) * 1e6
    await broker.close()
    assert AuditStore(url, chain).verify().ok
    return round(per_event, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    backends = {}
    with tempfile.TemporaryDirectory() as folder:
        backends["sqlite"] = f"sqlite:///{Path(folder) / 'audit.db'}"
        if reachable(POSTGRES_URL):
            backends["postgresql"] = POSTGRES_URL
        results = {
            name: bench_backend(url, args.records, args.writers) for name, url in backends.items()
        }
    figures = {"records": args.records, "writers": args.writers, "backends": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "audit_chain.json").write_text(json.dumps(figures, indent=2) + "\n")
    lines = [
        f"# Audit trail ({args.records} records, {args.writers} concurrent writers)",
        "",
        "| backend | publish (µs/event) | append p50 / p95 ms | appends/s (concurrent) "
        "| records/s (batches of 200) | verify records/s |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['publish_us']} | {row['append_p50_ms']} / {row['append_p95_ms']} "
            f"| {row['append_per_s']} | {row['batch_per_s']} | {row['verify_per_s']} |"
        )
    (RESULTS / "audit_chain.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

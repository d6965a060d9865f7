"""The handoff queue's operations, timed on each backend (not part of ``make test``).

    python -m bench.handoff_queue [--entries 300] [--agents 8]

For SQLite, PostgreSQL and Redis Streams: enqueue ``--entries`` packets, list the queue,
let ``--agents`` threads claim everything concurrently (each entry must end with exactly
one owner), renew every agent's leases, run the desk's ``deliver`` step, and resolve.
Writes p50/p95/max latencies in milliseconds and throughput to
``bench/results/handoff_queue.json`` and a table to ``bench/results/handoff_queue.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from frontline.db import session_scope
from frontline.errors import QueueError
from frontline.handoff.queue import AlreadyClaimed, HandoffQueue, create
from frontline.handoff.sql_queue import HandoffQueueRow
from tests.support.processes import REPO_ROOT
from tests.support.servers import POSTGRES_URL, REDIS_URL, reachable

RESULTS = REPO_ROOT / "bench" / "results"
PRIORITIES = ("urgent", "high", "normal", "normal", "low")


def packet(i: int) -> dict[str, Any]:
    """A packet of realistic size (about 3 kB, like one with ten turns)."""
    return {
        "schema_version": "1.1",
        "handoff_id": f"{uuid.uuid4().hex[:24]}",
        "conversation_id": f"bench-{i}-{uuid.uuid4().hex[:8]}",
        "priority": PRIORITIES[i % len(PRIORITIES)],
        "summary": "Customer wanted to cancel an order; it had shipped. " * 4,
        "last_turns": [
            {"speaker": "customer", "text": "where is my order 482913 " * 5, "timestamp": "t"}
        ]
        * 10,
    }


def timed(samples: list[float], function: Callable[[], Any]) -> Any:
    """Runs ``function`` and records its duration, whether it returns or raises."""
    started = time.perf_counter()
    try:
        return function()
    finally:
        samples.append((time.perf_counter() - started) * 1000)


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[max(int(len(ordered) * 0.95) - 1, 0)], 2),
        "max_ms": round(ordered[-1], 2),
    }


def run(queue: HandoffQueue, entries: int, agents: int) -> dict[str, Any]:
    timings: dict[str, list[float]] = {
        name: [] for name in ("enqueue", "pending", "claim", "renew", "deliver", "resolve")
    }
    started = time.perf_counter()
    ids = [timed(timings["enqueue"], lambda i=i: queue.enqueue(packet(i))) for i in range(entries)]
    enqueue_seconds = time.perf_counter() - started
    for _ in range(20):
        timed(timings["pending"], lambda: queue.pending(100))

    owners: dict[str, str] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(agents)

    def agent(n: int) -> None:
        name = f"agent-{n}"
        barrier.wait()
        for entry_id in ids[n::1] + ids[:n]:  # everyone tries everything, in a different order
            try:
                timed(timings["claim"], lambda e=entry_id: queue.claim(e, name))
            except AlreadyClaimed:
                continue
            with lock:
                if entry_id in owners:
                    raise AssertionError(f"{entry_id} has two owners")
                owners[entry_id] = name

    started = time.perf_counter()
    with ThreadPoolExecutor(agents) as pool:
        list(pool.map(agent, range(agents)))
    claim_seconds = time.perf_counter() - started
    assert sorted(owners) == sorted(ids), "an entry was lost or never claimed"

    for n in range(agents):
        timed(timings["renew"], lambda n=n: queue.renew(f"agent-{n}"))
    for _ in range(20):
        timed(timings["deliver"], queue.deliver)
    for entry_id, owner in owners.items():
        timed(timings["resolve"], lambda e=entry_id, o=owner: queue.resolve(e, o, "resolved"))
    assert queue.open_entries() == []
    return {
        "entries": entries,
        "agents": agents,
        "enqueue_per_second": round(entries / enqueue_seconds, 1),
        "contended_claim_attempts_per_second": round(len(timings["claim"]) / claim_seconds, 1),
        **{name: summary(samples) for name, samples in timings.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.handoff_queue")
    parser.add_argument("--entries", type=int, default=300)
    parser.add_argument("--agents", type=int, default=8)
    args = parser.parse_args(argv)
    name = f"bench{uuid.uuid4().hex[:8]}"
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        configs = {"sqlite": {"type": "sql", "url": f"sqlite:///{Path(folder) / 'q.db'}"}}
        if reachable(POSTGRES_URL):
            configs["postgresql"] = {"type": "sql", "url": POSTGRES_URL}
        if reachable(REDIS_URL):
            configs["redis"] = {"type": "redis", "url": REDIS_URL}
        for backend, config in configs.items():
            config = {**config, "queue_name": name, "stream": f"bench:{name}"}
            try:
                with create(config) as queue:
                    results[backend] = run(queue, args.entries, args.agents)
            except QueueError as exc:
                results[backend] = {"error": str(exc)}
            finally:
                cleanup(config)
            print(backend, json.dumps(results[backend]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "handoff_queue.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "handoff_queue.md").write_text(table(results))
    return 0


def cleanup(config: dict[str, Any]) -> None:
    if config["type"] == "redis":
        client = redis.Redis.from_url(config["url"])
        keys = list(client.scan_iter(match=f"{config['stream']}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    elif config["url"].startswith("postgresql"):
        table_ = HandoffQueueRow.__table__
        with session_scope(config["url"]) as session:
            session.execute(sa.delete(table_).where(table_.c.queue_name == config["queue_name"]))


def table(results: dict[str, Any]) -> str:
    lines = [
        "# Handoff queue operations (p50 / p95 ms)",
        "",
        "| backend | enqueue | pending(100) | claim attempt (agents race) | renew | deliver "
        "| resolve "
        "| enqueues/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for backend, figures in results.items():
        if "error" in figures:
            lines.append(f"| {backend} | {figures['error']} |||||||")
            continue
        cells = [
            f"{figures[op]['p50_ms']} / {figures[op]['p95_ms']}"
            for op in ("enqueue", "pending", "claim", "renew", "deliver", "resolve")
        ]
        lines.append(f"| {backend} | {' | '.join(cells)} | {figures['enqueue_per_second']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

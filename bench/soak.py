"""``make bench-soak``: long conversations at moderate load for 20 minutes.

    python -m bench.soak [--minutes 20] [--customers 10] [--turns 200]

Each virtual customer verifies once, then holds one long conversation made of the
same five-turn cycle (order status, out of scope, thanks, greeting, FAQ-like small
talk) until it reaches ``--turns`` turns, then starts a new conversation. Because every
cycle is the same, the latency of turn 200 can be compared with turn 1's cycle.

Reported: memory of each process sampled every 10 s (growth from the end of the
warm-up to the end), and mean latency per cycle (first cycle vs last), in
``bench/results/soak.{json,md}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp

from bench.run_bench import RESULTS, production_stack
from bench.scripts import demo_customers
from tests.support.processes import rss_mb

CYCLE = 5
WARM_UP_SECONDS = 120.0
GOALS = {"memory_growth_pct": 5.0, "late_vs_first_latency_pct": 10.0}


def cycle_turns(order_id: str) -> list[str]:
    return ["where is my order?", order_id, "what's the weather in Paris?", "thanks", "hello"]


async def long_customer(
    session: aiohttp.ClientSession,
    url: str,
    customer: Any,
    rng: random.Random,
    deadline: float,
    turns: int,
    latencies: dict[int, list[float]],
) -> None:
    webhook = f"{url}/webhooks/rest/webhook"

    async def say(sender: str, text: str) -> float:
        started = time.perf_counter()
        async with session.post(webhook, json={"sender": sender, "message": text}) as response:
            await response.read()
            response.raise_for_status()
        return time.perf_counter() - started

    while time.monotonic() < deadline:
        sender = f"soak-{uuid.uuid4().hex[:10]}"
        # Verify once, by e-mail and ZIP; the rest of the conversation reuses it.
        for text in (
            "where is my order?",
            customer.email,
            customer.zip_code,
            customer.order_ids[0],
        ):
            await say(sender, text)
        for index in range(turns):
            if time.monotonic() >= deadline:
                return
            text = cycle_turns(rng.choice(customer.order_ids))[index % CYCLE]
            latencies[index].append(await say(sender, text))
            await asyncio.sleep(rng.uniform(1.0, 3.0))  # think time (load model)


async def sample_memory(
    processes: dict[str, Any], deadline: float, samples: list[dict[str, Any]]
) -> None:
    started = time.monotonic()
    while time.monotonic() < deadline:
        samples.append(
            {"t": round(time.monotonic() - started, 1)}
            | {name: rss_mb(p.pid) for name, p in processes.items()}
        )
        await asyncio.sleep(10)  # sampling period


async def soak(processes: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    customers, _ = demo_customers()
    deadline = time.monotonic() + args.minutes * 60
    latencies: dict[int, list[float]] = defaultdict(list)
    samples: list[dict[str, Any]] = []
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(
            sample_memory(processes, deadline, samples),
            *(
                long_customer(
                    session,
                    processes["rasa"].url,
                    customers[i % len(customers)],
                    random.Random(i),
                    deadline,
                    args.turns,
                    latencies,
                )
                for i in range(args.customers)
            ),
        )
    by_cycle = [
        statistics.fmean(
            [v for i in range(c * CYCLE, (c + 1) * CYCLE) for v in latencies.get(i, [])] or [0]
        )
        * 1000
        for c in range(args.turns // CYCLE)
    ]
    after_warm_up = next((s for s in samples if s["t"] >= WARM_UP_SECONDS), samples[0])
    growth = {
        name: round((samples[-1][name] - after_warm_up[name]) / after_warm_up[name] * 100, 2)
        for name in processes
    }
    last_full = max((c for c, v in enumerate(by_cycle) if v > 0), default=0)
    return {
        "minutes": args.minutes,
        "customers": args.customers,
        "turns_per_conversation": args.turns,
        "turns_measured": sum(len(v) for v in latencies.values()),
        "memory_samples_mb": samples,
        "memory_growth_pct_after_warm_up": growth,
        "mean_latency_ms_by_cycle": [round(v, 1) for v in by_cycle],
        "first_cycle_ms": round(by_cycle[0], 1),
        "last_cycle_ms": round(by_cycle[last_full], 1),
        "last_cycle_index": last_full,
        "late_vs_first_pct": round((by_cycle[last_full] / by_cycle[0] - 1) * 100, 1),
        "goals": GOALS,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="frontline-soak-") as tmp:
        with production_stack(Path(tmp)) as processes:
            results = asyncio.run(soak(processes, args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(results, indent=2) + "\n")
    summary = (
        f"# Soak: {args.minutes} min, {args.customers} customers, conversations of "
        f"{args.turns} turns\n\n"
        f"- memory growth after a {WARM_UP_SECONDS:.0f} s warm-up (goal <= "
        f"{GOALS['memory_growth_pct']}%): {results['memory_growth_pct_after_warm_up']}\n"
        f"- mean latency, first cycle (turns 1-5) {results['first_cycle_ms']} ms; cycle "
        f"{results['last_cycle_index'] + 1} {results['last_cycle_ms']} ms: "
        f"{results['late_vs_first_pct']:+}% (goal within "
        f"{GOALS['late_vs_first_latency_pct']}%)\n"
    )
    (RESULTS / "soak.md").write_text(summary)
    print(summary)


if __name__ == "__main__":
    main()

"""``make bench-soak``: long conversations at moderate load for 20 minutes.

    python -m bench.soak [--minutes 20] [--customers 10] [--turns 200]
    python -m bench.soak --probe [--turns 250]


Each virtual customer verifies once, then holds one long conversation made of the
same five-turn cycle (order status, out of scope, thanks, greeting, FAQ-like small
talk) until it reaches ``--turns`` turns, then starts a new conversation. Because every
cycle is the same, the latency of turn 200 can be compared with turn 1's cycle.

The customers' conversations are out of step: customer ``i``'s first conversation is
``(i + 1) / customers`` of the full length, so at any moment some conversations are
young and some old. Otherwise every conversation would reach turn 200 at about the
same moment, and whatever happens to the server at that moment (a neighbour's heavy
turn, a garbage collection, the table having grown) would be counted against turn 200.

Reported: memory of each process sampled every 10 s (growth from the end of the
warm-up to the end), and mean latency per cycle (first cycle vs last; medians
beside them) of the conversations that began after the warm-up, in
``bench/results/soak.{json,md}``.

``--probe`` is the quick diagnostic behind it: one conversation of ``--turns`` turns with
no think time on an otherwise idle stack, reporting per block of 25 turns the mean latency
and the CPU time per turn of each server (``bench/results/long_conversation.{json,md}``).
A server whose CPU per turn grows from block to block does work that grows with the
conversation.
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
    measure_from: float,
    first_turns: int | None = None,
) -> None:
    """One customer's conversations until ``deadline``; latencies by turn index of those
    conversations that began at ``measure_from`` or later (after the warm-up).

    ``first_turns`` shortens the first conversation (the stagger, see the module's
    docstring); the later ones have ``turns`` turns.
    """
    webhook = f"{url}/webhooks/rest/webhook"

    async def say(sender: str, text: str) -> float:
        started = time.perf_counter()
        async with session.post(webhook, json={"sender": sender, "message": text}) as response:
            await response.read()
            response.raise_for_status()
        return time.perf_counter() - started

    length = first_turns or turns
    while time.monotonic() < deadline:
        sender = f"soak-{uuid.uuid4().hex[:10]}"
        measured = time.monotonic() >= measure_from
        # Verify once, by e-mail and ZIP; the rest of the conversation reuses it.
        for text in (
            "where is my order?",
            customer.email,
            customer.zip_code,
            customer.order_ids[0],
        ):
            await say(sender, text)
        for index in range(length):
            if time.monotonic() >= deadline:
                return
            text = cycle_turns(rng.choice(customer.order_ids))[index % CYCLE]
            latency = await say(sender, text)
            if measured:
                latencies[index].append(latency)
            await asyncio.sleep(rng.uniform(1.0, 3.0))  # think time (load model)
        length = turns


async def probe(processes: dict[str, Any], turns: int, block: int = 25) -> dict[str, Any]:
    """One long conversation, no think time: latency and CPU per turn by block of turns."""
    customer = demo_customers()[0][0]
    sender = f"probe-{uuid.uuid4().hex[:10]}"
    webhook = f"{processes['rasa'].url}/webhooks/rest/webhook"
    blocks: list[dict[str, Any]] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def say(text: str) -> float:
            started = time.perf_counter()
            async with session.post(webhook, json={"sender": sender, "message": text}) as reply:
                await reply.read()
                reply.raise_for_status()
            return time.perf_counter() - started

        for text in (
            "where is my order?",
            customer.email,
            customer.zip_code,
            customer.order_ids[0],
        ):
            await say(text)
        for start in range(0, turns, block):
            cpu_before = {name: p.cpu_seconds() for name, p in processes.items()}
            latencies = [
                await say(cycle_turns(customer.order_ids[0])[index % CYCLE])
                for index in range(start, min(start + block, turns))
            ]
            blocks.append(
                {
                    "turns": f"{start + 1}-{start + len(latencies)}",
                    "mean_latency_ms": round(statistics.fmean(latencies) * 1000, 1),
                    "cpu_ms_per_turn": {
                        name: round((p.cpu_seconds() - cpu_before[name]) * 1000 / len(latencies), 1)
                        for name, p in processes.items()
                    },
                }
            )
    first, last = blocks[0], blocks[-1]
    return {
        "turns": turns,
        "blocks": blocks,
        "last_vs_first_latency_pct": round(
            (last["mean_latency_ms"] / first["mean_latency_ms"] - 1) * 100, 1
        ),
    }


def probe_summary(results: dict[str, Any]) -> str:
    names = list(results["blocks"][0]["cpu_ms_per_turn"])
    lines = [
        f"# One conversation of {results['turns']} turns, no think time",
        "",
        "| turns | mean latency ms | " + " | ".join(f"CPU ms/turn {n}" for n in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for block in results["blocks"]:
        cpu = " | ".join(str(block["cpu_ms_per_turn"][n]) for n in names)
        lines.append(f"| {block['turns']} | {block['mean_latency_ms']} | {cpu} |")
    lines += ["", f"Last block against the first: {results['last_vs_first_latency_pct']:+}%", ""]
    return "\n".join(lines)


def staggered_length(customer: int, customers: int, turns: int) -> int:
    """Length of customer ``customer``'s first conversation: ``(customer + 1) / customers``
    of ``turns``, whole cycles, at least one cycle."""
    cycles = turns // CYCLE
    return max(1, round(cycles * (customer + 1) / customers)) * CYCLE


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
    started = time.monotonic()
    deadline = started + args.minutes * 60
    # Conversations that start during the warm-up meet a server that has not yet run
    # every code path (TensorFlow traces functions on first use): left out of the
    # first-against-late comparison, whichever way they would bias it.
    measure_from = started + min(WARM_UP_SECONDS, args.minutes * 60 / 4)
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
                    measure_from,
                    first_turns=staggered_length(i, args.customers, args.turns),
                )
                for i in range(args.customers)
            ),
        )
    cycles = [
        [v for i in range(c * CYCLE, (c + 1) * CYCLE) for v in latencies.get(i, [])]
        for c in range(args.turns // CYCLE)
    ]
    by_cycle = [statistics.fmean(v or [0]) * 1000 for v in cycles]
    median_by_cycle = [statistics.median(v or [0]) * 1000 for v in cycles]
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
        "median_latency_ms_by_cycle": [round(v, 1) for v in median_by_cycle],
        "turns_measured_by_cycle": [len(v) for v in cycles],
        "first_cycle_ms": round(by_cycle[0], 1),
        "last_cycle_ms": round(by_cycle[last_full], 1),
        "last_cycle_index": last_full,
        "late_vs_first_pct": round((by_cycle[last_full] / by_cycle[0] - 1) * 100, 1),
        "first_cycle_median_ms": round(median_by_cycle[0], 1),
        "last_cycle_median_ms": round(median_by_cycle[last_full], 1),
        "late_vs_first_median_pct": round(
            (median_by_cycle[last_full] / median_by_cycle[0] - 1) * 100, 1
        ),
        "goals": GOALS,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--probe", action="store_true", help="one conversation, no think time")
    args = parser.parse_args(argv)
    if args.probe:
        with tempfile.TemporaryDirectory(prefix="frontline-probe-") as tmp:
            with production_stack(Path(tmp)) as processes:
                results = asyncio.run(probe(processes, args.turns))
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "long_conversation.json").write_text(json.dumps(results, indent=2) + "\n")
        summary = probe_summary(results)
        (RESULTS / "long_conversation.md").write_text(summary)
        print(summary)
        return
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
        f"- median latency, the same cycles: {results['first_cycle_median_ms']} ms; "
        f"{results['last_cycle_median_ms']} ms: {results['late_vs_first_median_pct']:+}%\n"
        f"- turns measured per cycle: first {results['turns_measured_by_cycle'][0]}, last "
        f"{results['turns_measured_by_cycle'][results['last_cycle_index']]}\n"
    )
    (RESULTS / "soak.md").write_text(summary)
    print(summary)


if __name__ == "__main__":
    main()

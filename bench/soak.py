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
``bench/results/soak.{json,md}``, with every measured turn (time, index, latency).

The first cycle is measured all through the run, the last only once conversations
have grown that long, so a machine that slows down (a noisy neighbour) or a server that
does over time would count against the last cycle alone. The comparison is therefore
also given over the same stretch of the run: the turns answered after the first
last-cycle turn was.

``--probe`` is the quick diagnostic behind it: one conversation of ``--turns`` turns with
no think time on an otherwise idle stack, reporting per block of 25 turns the mean latency
and the CPU time per turn of each server and of PostgreSQL
(``bench/results/long_conversation.{json,md}``).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from bench.run_bench import RESULTS, production_stack
from bench.scripts import demo_customers
from frontline.channels.sessions import TOKEN_HEADER
from tests.support.processes import cpu_seconds, rss_mb

CYCLE = 5


WARM_UP_SECONDS = 120.0
GOALS = {"memory_growth_pct": 5.0, "late_vs_first_latency_pct": 10.0}


@dataclass(frozen=True)
class MeasuredTurn:
    """One turn of a measured conversation: when it was answered, its index, its latency."""

    at: float  # time.monotonic() when the reply arrived
    index: int  # 0 for the conversation's first turn after verification
    seconds: float


def cycle_turns(order_id: str) -> list[str]:
    return ["where is my order?", order_id, "what's the weather in Paris?", "thanks", "hello"]


async def long_customer(
    session: aiohttp.ClientSession,
    url: str,
    customer: Any,
    rng: random.Random,
    deadline: float,
    turns: int,
    measured_turns: list[MeasuredTurn],
    measure_from: float,
    first_turns: int | None = None,
) -> None:
    """One customer's conversations until ``deadline``; the turns of those conversations
    that began at ``measure_from`` or later (after the warm-up) go to ``measured_turns``.

    ``first_turns`` shortens the first conversation (the stagger, see the module's
    docstring); the later ones have ``turns`` turns.
    """
    webhook = f"{url}/webhooks/rest/webhook"
    tokens: dict[str, str] = {}  # each conversation's session token, echoed as clients must

    async def say(sender: str, text: str) -> float:
        started = time.perf_counter()
        headers = {TOKEN_HEADER: tokens[sender]} if sender in tokens else None
        async with session.post(
            webhook, json={"sender": sender, "message": text}, headers=headers
        ) as response:
            await response.read()
            response.raise_for_status()
            tokens.setdefault(sender, response.headers.get(TOKEN_HEADER, ""))
        return time.perf_counter() - started

    length = first_turns or turns
    while time.monotonic() < deadline:
        sender = f"soak-{uuid.uuid4().hex[:10]}"
        measured = time.monotonic() >= measure_from
        # Verify once, by e-mail and ZIP; the rest of the conversation reuses it. The
        # customer reads each reply before typing, here too: a turn that follows its
        # predecessor at once finds the server warm and answers ~3 ms faster than one
        # after a pause (measured), which made turn 1 look cheaper than every later turn.
        for text in (
            "where is my order?",
            customer.email,
            customer.zip_code,
            customer.order_ids[0],
        ):
            await say(sender, text)
            await asyncio.sleep(rng.uniform(1.0, 3.0))  # think time (load model)
        for index in range(length):
            if time.monotonic() >= deadline:
                return
            text = cycle_turns(rng.choice(customer.order_ids))[index % CYCLE]
            latency = await say(sender, text)
            if measured:
                measured_turns.append(MeasuredTurn(time.monotonic(), index, latency))
            await asyncio.sleep(rng.uniform(1.0, 3.0))  # think time (load model)
        length = turns


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process on this machine (the benchmark's server is
    local): its share of a turn, which the servers' own CPU times leave out."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().startswith("postgres"):
                total += cpu_seconds(int(entry.name))
        except OSError:
            continue  # exited meanwhile
    return total


def cpu_by_process(processes: dict[str, Any]) -> dict[str, float]:
    """CPU seconds so far of each server and of PostgreSQL."""
    return {name: p.cpu_seconds() for name, p in processes.items()} | {
        "postgres": postgres_cpu_seconds()
    }


async def probe(processes: dict[str, Any], turns: int, block: int = 25) -> dict[str, Any]:
    """One long conversation, no think time: latency and CPU per turn by block of turns
    (of each server, and of PostgreSQL)."""
    customer = demo_customers()[0][0]
    sender = f"probe-{uuid.uuid4().hex[:10]}"
    webhook = f"{processes['rasa'].url}/webhooks/rest/webhook"
    blocks: list[dict[str, Any]] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:

        token: list[str] = []  # the session token of the first answer

        async def say(text: str) -> float:
            started = time.perf_counter()
            async with session.post(
                webhook,
                json={"sender": sender, "message": text},
                headers={TOKEN_HEADER: token[0]} if token else None,
            ) as reply:
                await reply.read()
                reply.raise_for_status()
                if not token:
                    token.append(reply.headers[TOKEN_HEADER])
            return time.perf_counter() - started

        for text in (
            "where is my order?",
            customer.email,
            customer.zip_code,
            customer.order_ids[0],
        ):
            await say(text)
        for start in range(0, turns, block):
            cpu_before = cpu_by_process(processes)
            latencies = [
                await say(cycle_turns(customer.order_ids[0])[index % CYCLE])
                for index in range(start, min(start + block, turns))
            ]
            cpu_after = cpu_by_process(processes)
            blocks.append(
                {
                    "turns": f"{start + 1}-{start + len(latencies)}",
                    "mean_latency_ms": round(statistics.fmean(latencies) * 1000, 1),
                    "cpu_ms_per_turn": {
                        name: round((cpu_after[name] - cpu_before[name]) * 1000 / len(latencies), 1)
                        for name in cpu_after
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


def latency_by_cycle(
    turns: list[MeasuredTurn], cycles: int, since: float | None = None
) -> dict[str, list[Any]]:
    """Mean and median latency (ms) and number of turns per cycle of the conversation,
    of the turns answered at ``since`` or later (all by default); 0 for an empty cycle."""
    by_cycle: list[list[float]] = [[] for _ in range(cycles)]
    for turn in turns:
        if (since is None or turn.at >= since) and turn.index // CYCLE < cycles:
            by_cycle[turn.index // CYCLE].append(turn.seconds * 1000)
    return {
        "mean_ms": [round(statistics.fmean(v), 1) if v else 0 for v in by_cycle],
        "median_ms": [round(statistics.median(v), 1) if v else 0 for v in by_cycle],
        "turns": [len(v) for v in by_cycle],
    }


def fitted_growth(
    turns: list[MeasuredTurn], at_turn: int, resamples: int = 500, seed: int = 7
) -> dict[str, float]:
    """Growth of latency from turn 1 to turn ``at_turn`` estimated from every measured turn.

    A least-squares fit of each turn's latency on its position in the five-turn cycle
    (each position its own level), its index in the conversation and the time it was
    answered (drift of the machine or the server over the run). The index's slope over
    ``at_turn - 1`` turns, against the fitted latency of turn 1 averaged over the
    positions, is the growth; its 95% interval comes from refitting on turns resampled
    with replacement. A single cycle has under a hundred turns here, too few to tell
    10% from noise on its own.
    """
    if len(turns) < 10 * CYCLE:
        return {}
    rows = np.array([(t.index % CYCLE, t.index, t.at, t.seconds * 1000) for t in turns])
    positions = np.eye(CYCLE)[rows[:, 0].astype(int)]
    design = np.column_stack([positions, rows[:, 1], rows[:, 2] - rows[:, 2].mean()])
    latency = rows[:, 3]

    def growth_pct(sample: np.ndarray) -> float:
        coefficients, *_ = np.linalg.lstsq(design[sample], latency[sample], rcond=None)
        turn_one = coefficients[:CYCLE].mean()
        return float(coefficients[CYCLE] * (at_turn - 1) / turn_one * 100)

    rng = np.random.default_rng(seed)
    everything = np.arange(len(rows))
    spread = [growth_pct(rng.choice(everything, len(rows))) for _ in range(resamples)]
    low, high = np.percentile(spread, [2.5, 97.5])
    return {
        "at_turn": at_turn,
        "growth_pct": round(growth_pct(everything), 1),
        "interval_95_pct": [round(float(low), 1), round(float(high), 1)],
    }


def first_against_last(by_cycle: dict[str, list[Any]], last: int) -> dict[str, float]:
    """The first cycle's latency against cycle ``last``'s, means and medians."""
    mean, median = by_cycle["mean_ms"], by_cycle["median_ms"]
    return {
        "first_cycle_ms": mean[0],
        "last_cycle_ms": mean[last],
        "late_vs_first_pct": round((mean[last] / mean[0] - 1) * 100, 1),
        "first_cycle_median_ms": median[0],
        "last_cycle_median_ms": median[last],
        "late_vs_first_median_pct": round((median[last] / median[0] - 1) * 100, 1),
    }


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
    measured_turns: list[MeasuredTurn] = []
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
                    measured_turns,
                    measure_from,
                    first_turns=staggered_length(i, args.customers, args.turns),
                )
                for i in range(args.customers)
            ),
        )
    cycle_count = args.turns // CYCLE
    all_turns = latency_by_cycle(measured_turns, cycle_count)
    last_full = max((c for c, v in enumerate(all_turns["mean_ms"]) if v > 0), default=0)
    # The same comparison over the same stretch of the run: from the moment the first
    # last-cycle turn was answered on, young and old conversations ran side by side, so
    # whatever changed on the machine or the server over the run counts for both.
    period_start = min(
        (t.at for t in measured_turns if t.index // CYCLE == last_full), default=started
    )
    same_period = latency_by_cycle(measured_turns, cycle_count, since=period_start)
    after_warm_up = next((s for s in samples if s["t"] >= WARM_UP_SECONDS), samples[0])
    growth = {
        name: round((samples[-1][name] - after_warm_up[name]) / after_warm_up[name] * 100, 2)
        for name in processes
    }
    return {
        "minutes": args.minutes,
        "customers": args.customers,
        "turns_per_conversation": args.turns,
        "turns_measured": len(measured_turns),
        "memory_samples_mb": samples,
        "memory_growth_pct_after_warm_up": growth,
        "mean_latency_ms_by_cycle": all_turns["mean_ms"],
        "median_latency_ms_by_cycle": all_turns["median_ms"],
        "turns_measured_by_cycle": all_turns["turns"],
        "last_cycle_index": last_full,
        **first_against_last(all_turns, last_full),
        "fitted": fitted_growth(measured_turns, at_turn=args.turns),
        "same_period": {
            "from_s": round(period_start - started, 1),
            "turns_measured_by_cycle": same_period["turns"],
            **first_against_last(same_period, last_full),
        },
        # Every measured turn: seconds since the start, index in its conversation, ms.
        "turns": [
            [round(t.at - started, 2), t.index, round(t.seconds * 1000, 2)] for t in measured_turns
        ],
        "goals": GOALS,
    }


def soak_summary(results: dict[str, Any]) -> str:
    last = results["last_cycle_index"]
    period = results["same_period"]

    def comparison(figures: dict[str, Any], counts: list[int]) -> str:
        return (
            f"  - mean: first cycle (turns 1-5) {figures['first_cycle_ms']} ms, cycle "
            f"{last + 1} {figures['last_cycle_ms']} ms: **{figures['late_vs_first_pct']:+}%**"
            f" (goal within {GOALS['late_vs_first_latency_pct']}%)\n"
            f"  - median: {figures['first_cycle_median_ms']} ms, "
            f"{figures['last_cycle_median_ms']} ms: {figures['late_vs_first_median_pct']:+}%\n"
            f"  - turns measured: first cycle {counts[0]}, cycle {last + 1} {counts[last]}\n"
        )

    return (
        f"# Soak: {results['minutes']} min, {results['customers']} customers, conversations "
        f"of {results['turns_per_conversation']} turns\n\n"
        f"- memory growth after a {WARM_UP_SECONDS:.0f} s warm-up (goal <= "
        f"{GOALS['memory_growth_pct']}%): {results['memory_growth_pct_after_warm_up']}\n"
        f"- latency of the last cycle against the first, all measured turns:\n"
        + comparison(results, results["turns_measured_by_cycle"])
        + f"- the same over the same stretch of the run (from {period['from_s']} s, when the "
        f"first cycle-{last + 1} turn was answered):\n"
        + comparison(period, period["turns_measured_by_cycle"])
        + fitted_line(results["fitted"])
    )


def fitted_line(fitted: dict[str, Any]) -> str:
    if not fitted:
        return ""
    low, high = fitted["interval_95_pct"]
    return (
        f"- fitted on every measured turn (position in the cycle, index, time of the run): "
        f"turn {fitted['at_turn']} against turn 1 **{fitted['growth_pct']:+}%**, 95% interval "
        f"{low:+}% to {high:+}%\n"
    )


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
    summary = soak_summary(results)
    (RESULTS / "soak.md").write_text(summary)
    print(summary)


if __name__ == "__main__":
    main()

"""``make bench``: the whole stack under load, side by side with Rasa's starter bot.

    python -m bench.run_bench [--duration 60] [--concurrency 50] [--rounds 3] [--quick]

1. Frontline as in production: REST channel, SQL tracker store on PostgreSQL (a fresh
   database per run), Redis lock store, Redis Streams handoff queue, action server,
   sandbox services, and one Sanic worker per core of this 2-core machine
   (``--deployment two_workers``). Two load models on 50 concurrent conversations:
   ``think`` (1-3 s think time after each reply) and ``closed`` (no think time). The
   closed loop is run again with a single Rasa process, for reference.
2. The peer: ``rasa init``'s starter bot, trained and run with its own defaults, under
   the same generator and load models. All stacks are up at once and the closed loops
   are interleaved in ``--rounds`` rounds (see :func:`run_benchmark`).
3. Training time of both, peak memory of every process; figures to
   ``bench/results/load.json`` and a summary with ratios to ``bench/results/load.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.load import run_load
from bench.scripts import FrontlineScripts, starter_script
from tests.support.processes import (
    BIN,
    REPO_ROOT,
    ServerProcess,
    cpu_seconds,
)
from tests.support.topology import KINDS, deployment, fresh_postgres_database

RESULTS = REPO_ROOT / "bench" / "results"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/14"
TOKEN = "bench-" + uuid.uuid4().hex
GOALS = {"p95_no_backend_ms": 250, "p95_backend_ms": 400, "capacity_ratio": 1.5}

logger = logging.getLogger(__name__)


def train_seconds(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return round(time.perf_counter() - started, 1)


def service_pids() -> dict[str, list[int]]:
    """PIDs of the shared database and cache servers on this machine, by name."""
    names = {"postgres": "postgres", "redis-server": "redis"}
    found: dict[str, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue  # exited meanwhile
        if comm in names:
            found.setdefault(names[comm], []).append(int(entry.name))
    return found


def cpu_snapshot(processes: dict[str, ServerProcess]) -> dict[str, float]:
    """CPU seconds used so far by each of our processes and by PostgreSQL and Redis."""
    snapshot = {name: p.cpu_seconds() or 0.0 for name, p in processes.items()}
    for name, pids in service_pids().items():
        total = 0.0
        for pid in pids:
            try:
                total += cpu_seconds(pid)
            except OSError:
                continue  # a PostgreSQL backend that exited meanwhile
        snapshot[name] = total
    return snapshot


def drive(
    name: str,
    processes: dict[str, ServerProcess],
    scripts,
    args: argparse.Namespace,
    load_models: tuple[str, ...] = ("think", "closed"),
) -> list[dict]:
    """The load models against ``processes["rasa"]``; CPU per turn of every process."""
    runs = []
    for load_model in load_models:
        result = asyncio.run(
            run_load(
                target=name,
                rasa_url=processes["rasa"].url,
                token=TOKEN,
                scripts=scripts,
                load_model=load_model,
                concurrency=args.concurrency,
                duration=args.duration,
                cpu_probe=lambda: cpu_snapshot(processes),
            )
        )
        summary = result.summary()
        logger.info("%s %s: %s", name, load_model, json.dumps(summary))
        runs.append(summary)
    return runs


@contextmanager
def production_stack(
    folder: Path, kind: str = "one_instance", database: str = "frontline_bench"
) -> Iterator[dict[str, ServerProcess]]:
    """Sandbox, action server(s) and Rasa as in production (PostgreSQL, Redis), by name."""
    folder.mkdir(parents=True, exist_ok=True)
    with fresh_postgres_database(POSTGRES_URL, database) as tracker_url:
        with deployment(
            kind,
            folder,
            model=REPO_ROOT / "models" / "frontline.tar.gz",
            tracker_store_url=tracker_url,
            redis_url=REDIS_URL,
            auth_token=TOKEN,
        ) as topology:
            yield {process.name: process for process in topology.processes}


def init_starter(folder: Path) -> float:
    """``rasa init`` (which trains the starter bot) into ``folder / "starter"``; seconds."""
    (folder / "starter").mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(folder / "starter")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return round(time.perf_counter() - started, 1)


@contextmanager
def starter_stack(folder: Path) -> Iterator[dict[str, ServerProcess]]:
    """The starter bot served by stock Rasa with its own defaults (in-memory stores, one
    process): the launcher with ``FRONTLINE_STOCK_RASA=1`` applies no patch, and hands
    Rasa the API token from the environment rather than the command line."""
    command = [
        str(BIN / "python"), "-m", "frontline.runtime", "run", "--enable-api",
        "--port", "{port}", "--model", "models",
    ]  # fmt: skip
    env = {
        "RASA_TELEMETRY_ENABLED": "false",
        "FRONTLINE_STOCK_RASA": "1",
        "RASA_AUTH_TOKEN": TOKEN,
        "RASA_AUTH_TOKEN_FILE": None,
        "PYTHONPATH": str(REPO_ROOT),  # the launcher, run from the starter's folder
    }
    rasa = ServerProcess(
        "starter", command, health_path="/", log_dir=folder, cwd=folder / "starter", env=env
    )
    try:
        yield {"rasa": rasa.start()}
    finally:
        rasa.stop()


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (the lower middle one of an even number)."""
    ordered = sorted(runs, key=lambda run: run["throughput_msg_per_s"])
    return ordered[(len(ordered) - 1) // 2]


def run_benchmark(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Both bots (and Frontline in one process) up at once; closed loops interleaved.

    The machines are noisy: a neighbour's load can change throughput by 10-20% from one
    minute to the next. Every stack is started first and idles while another is driven,
    and the closed loop runs in rounds (Frontline, the starter, Frontline in one process),
    so each round's ratio compares runs a minute apart; the capacity ratio is the median
    of the rounds' ratios.
    """
    ours: dict[str, Any] = {"deployment": args.deployment}
    if not args.skip_training:
        ours["training_seconds"] = train_seconds(
            [
                str(BIN / "python"),
                "-m",
                "frontline.runtime",  # as `make train`: through the launcher
                "train",
                "--domain",
                "domain",
                "--force",
                "--out",
                str(folder / "models"),
                "--quiet",
            ],
            REPO_ROOT,
        )
    peer: dict[str, Any] = {"init_and_training_seconds": init_starter(folder)}
    with ExitStack() as stacks:
        frontline = stacks.enter_context(
            production_stack(folder / "frontline", args.deployment, "frontline_bench")
        )
        starter = stacks.enter_context(starter_stack(folder))
        targets = [("frontline", frontline), ("starter", starter)]
        if args.deployment != "one_instance":
            one_process = stacks.enter_context(
                production_stack(folder / "one_process", "one_instance", "frontline_bench_one")
            )
            targets.append(("frontline-one-process", one_process))
        ours["runs"] = drive("frontline", frontline, FrontlineScripts(), args, ("think",))
        peer["runs"] = drive("starter", starter, starter_script, args, ("think",))
        rounds: list[dict[str, dict[str, Any]]] = []
        for _ in range(args.rounds):
            rounds.append(
                {
                    name: drive(
                        name,
                        processes,
                        starter_script if name == "starter" else FrontlineScripts(),
                        args,
                        ("closed",),
                    )[0]
                    for name, processes in targets
                }
            )
        ours["peak_memory_mb"] = {name: p.peak_rss_mb() for name, p in frontline.items()}
        peer["peak_memory_mb"] = {"rasa": starter["rasa"].peak_rss_mb()}
    ours["closed_rounds"] = [r["frontline"] for r in rounds]
    peer["closed_rounds"] = [r["starter"] for r in rounds]
    ours["runs"].append(median_run(ours["closed_rounds"]))
    peer["runs"].append(median_run(peer["closed_rounds"]))
    if args.deployment != "one_instance":
        ours["one_process_rounds"] = [r["frontline-one-process"] for r in rounds]
        ours["one_process_runs"] = [median_run(ours["one_process_rounds"])]
    return {"frontline": ours, "starter": peer}


def ratios(ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    def run(figures: dict[str, Any], model: str) -> dict[str, Any]:
        return next(r for r in figures["runs"] if r["load_model"] == model)

    think_ours, think_peer = run(ours, "think"), run(peer, "think")

    def per_round(rounds: list[dict[str, Any]]) -> list[float]:
        if not rounds:
            return []
        return [
            round(mine["throughput_msg_per_s"] / theirs["throughput_msg_per_s"], 2)
            for mine, theirs in zip(rounds, peer["closed_rounds"], strict=True)
        ]

    capacity_rounds = per_round(ours["closed_rounds"])
    one_process_rounds = per_round(ours.get("one_process_rounds", []))
    return {
        "capacity": statistics.median(capacity_rounds),
        "capacity_rounds": capacity_rounds,
        "capacity_one_process": (
            statistics.median(one_process_rounds) if one_process_rounds else None
        ),
        "capacity_one_process_rounds": one_process_rounds,
        "think_p95_all": round(
            think_ours["latency_all_ms"]["p95"] / think_peer["latency_all_ms"]["p95"], 2
        ),
        "peak_memory_rasa": round(
            ours["peak_memory_mb"]["rasa"] / peer["peak_memory_mb"]["rasa"], 2
        ),
    }


def write_summary(results: dict[str, Any]) -> str:
    ours, peer, ratio = results["frontline"], results["starter"], results["ratios"]
    lines = [
        "# Load benchmark",
        "",
        f"Machine: {results['machine']}. {results['concurrency']} concurrent conversations, "
        f"{results['duration_s']} s per load model; generator on the same machine. "
        f"Frontline deployment: {ours.get('deployment', 'one_instance')} (PostgreSQL, Redis).",
        "",
        "| target | load | msg/s | p50 / p95 / p99 ms (no action) | p95 ms (backend) | "
        "errors | lost | reordered |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = [("frontline", run) for run in ours["runs"]]
    rows += [("frontline, one Rasa process", run) for run in ours.get("one_process_runs", [])]
    rows += [("starter", run) for run in peer["runs"]]
    for name, run in rows:
        no_action = run["latency_ms"].get("no_action", {})
        backend = run["latency_ms"].get("backend", {})
        lines.append(
            f"| {name} | {run['load_model']} | {run['throughput_msg_per_s']} | "
            f"{no_action.get('p50', '-')} / {no_action.get('p95', '-')} / "
            f"{no_action.get('p99', '-')} | {backend.get('p95', '-')} | {run['errors']} | "
            f"{run['lost_turns']} | {run['reordered_turns']} |"
        )
    think = next(r for r in ours["runs"] if r["load_model"] == "think")
    lines += [
        "",
        f"Closed loop in {len(ratio['capacity_rounds'])} interleaved rounds; the closed "
        "rows above are each target's median round.",
        "",
        f"Ratios to the starter bot: capacity {ratio['capacity']}x, the median of the "
        f"rounds' {ratio['capacity_rounds']} (goal >= {GOALS['capacity_ratio']}x; one Rasa "
        f"process: {ratio.get('capacity_one_process') or '-'}x of "
        f"{ratio['capacity_one_process_rounds']}); think-time p95 "
        f"{ratio['think_p95_all']}x; "
        f"Rasa peak memory {ratio['peak_memory_rasa']}x.",
        f"Goals under think time: p95 without backend "
        f"{think['latency_ms'].get('no_action', {}).get('p95')} ms (goal <= "
        f"{GOALS['p95_no_backend_ms']}), with backend "
        f"{think['latency_ms'].get('backend', {}).get('p95')} ms (goal <= "
        f"{GOALS['p95_backend_ms']}).",
        f"Peak memory (MiB): frontline {ours['peak_memory_mb']}, starter "
        f"{peer['peak_memory_mb']}.",
        f"Training: frontline {ours.get('training_seconds', '-')} s; starter (init + train) "
        f"{peer['init_and_training_seconds']} s.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved closed-loop rounds")
    parser.add_argument(
        "--deployment",
        choices=KINDS,
        default="two_workers",
        help="Frontline's topology (default: a Sanic worker per core of this 2-core machine)",
    )
    parser.add_argument("--quick", action="store_true", help="10 s runs, for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.concurrency, args.skip_training, args.rounds = 10.0, 10, True, 1
    with tempfile.TemporaryDirectory(prefix="frontline-bench-") as tmp:
        folder = Path(tmp)
        results: dict[str, Any] = {
            "machine": f"{sys.platform}, {subprocess.getoutput('nproc')} cores",
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            **run_benchmark(args, folder),
        }
    results["ratios"] = ratios(results["frontline"], results["starter"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    (RESULTS / f"load{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")
    summary = write_summary(results)
    (RESULTS / f"load{suffix}.md").write_text(summary)
    print(summary)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    main()

"""``make bench``: the whole stack under load, side by side with Rasa's starter bot.

    python -m bench.run_bench [--duration 60] [--concurrency 50] [--quick]

1. Frontline as in production: REST channel, SQL tracker store on PostgreSQL (a fresh
   database per run), Redis lock store, Redis Streams handoff queue, action server,
   sandbox services. Two load models on 50 concurrent conversations: ``think`` (1-3 s
   think time after each reply) and ``closed`` (no think time).
2. The peer: ``rasa init``'s starter bot, trained and run with its own defaults, under
   the same generator and load models.
3. Training time of both, peak memory of every process; figures to
   ``bench/results/load.json`` and a summary with ratios to ``bench/results/load.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
from tests.support.topology import deployment, fresh_postgres_database

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
    name: str, processes: dict[str, ServerProcess], scripts, args: argparse.Namespace
) -> list[dict]:
    """Both load models against ``processes["rasa"]``; CPU per turn of every process."""
    runs = []
    for load_model in ("think", "closed"):
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
    folder: Path, kind: str = "one_instance"
) -> Iterator[dict[str, ServerProcess]]:
    """Sandbox, action server(s) and Rasa as in production (PostgreSQL, Redis), by name."""
    with fresh_postgres_database(POSTGRES_URL, "frontline_bench") as tracker_url:
        with deployment(
            kind,
            folder,
            model=REPO_ROOT / "models" / "frontline.tar.gz",
            tracker_store_url=tracker_url,
            redis_url=REDIS_URL,
            auth_token=TOKEN,
        ) as topology:
            yield {process.name: process for process in topology.processes}


def bench_frontline(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    if not args.skip_training:
        figures["training_seconds"] = train_seconds(
            [str(BIN / "rasa"), "train", "--force", "--out", str(folder / "models"), "--quiet"],
            REPO_ROOT,
        )
    with production_stack(folder) as processes:
        figures["runs"] = drive("frontline", processes, FrontlineScripts(), args)
        figures["peak_memory_mb"] = {name: p.peak_rss_mb() for name, p in processes.items()}
    return figures


def bench_starter(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    project = folder / "starter"
    project.mkdir()
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    figures: dict[str, Any] = {"init_and_training_seconds": round(time.perf_counter() - started, 1)}
    command = [
        str(BIN / "rasa"), "run", "--enable-api", "--auth-token", TOKEN,
        "--port", "{port}", "--model", "models",
    ]  # fmt: skip
    rasa = ServerProcess(
        "starter", command, health_path="/", log_dir=folder, cwd=project,
        env={"RASA_TELEMETRY_ENABLED": "false"},
    )  # fmt: skip
    try:
        rasa.start()
        figures["runs"] = drive("starter", {"rasa": rasa}, starter_script, args)
        figures["peak_memory_mb"] = {"rasa": rasa.peak_rss_mb()}
    finally:
        rasa.stop()
    return figures


def ratios(ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    def run(figures: dict[str, Any], model: str) -> dict[str, Any]:
        return next(r for r in figures["runs"] if r["load_model"] == model)

    closed_ours, closed_peer = run(ours, "closed"), run(peer, "closed")
    think_ours, think_peer = run(ours, "think"), run(peer, "think")
    return {
        "capacity": round(
            closed_ours["throughput_msg_per_s"] / closed_peer["throughput_msg_per_s"], 2
        ),
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
        f"{results['duration_s']} s per load model; generator on the same machine.",
        "",
        "| target | load | msg/s | p50 / p95 / p99 ms (no action) | p95 ms (backend) | "
        "errors | lost | reordered |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, figures in (("frontline", ours), ("starter", peer)):
        for run in figures["runs"]:
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
        f"Ratios to the starter bot: capacity {ratio['capacity']}x (goal "
        f">= {GOALS['capacity_ratio']}x); think-time p95 {ratio['think_p95_all']}x; "
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
    parser.add_argument("--quick", action="store_true", help="10 s runs, for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.concurrency, args.skip_training = 10.0, 10, True
    with tempfile.TemporaryDirectory(prefix="frontline-bench-") as tmp:
        folder = Path(tmp)
        results: dict[str, Any] = {
            "machine": f"{sys.platform}, {subprocess.getoutput('nproc')} cores",
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "frontline": bench_frontline(args, folder),
            "starter": bench_starter(args, folder),
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

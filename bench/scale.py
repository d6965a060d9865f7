"""``make bench-scale``: closed-loop throughput as Rasa processes are added.

    python -m bench.scale [--duration 60] [--concurrency 50]

Runs the same load (bench/load.py, Frontline's conversation mix, no think time)
against one Rasa instance, two instances behind nginx, and one instance with two
Sanic workers, all on PostgreSQL and Redis. Figures: ``bench/results/scale.{json,md}``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import tempfile
from pathlib import Path

from bench.load import run_load
from bench.run_bench import POSTGRES_URL, REDIS_URL, RESULTS, TOKEN, cpu_snapshot
from bench.scripts import FrontlineScripts
from tests.support.processes import REPO_ROOT
from tests.support.topology import KINDS, deployment, fresh_postgres_database


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="deployments to run"
    )
    args = parser.parse_args(argv)
    results = {"concurrency": args.concurrency, "duration_s": args.duration, "runs": {}}
    for kind in args.kinds:
        with tempfile.TemporaryDirectory(prefix=f"frontline-{kind}-") as tmp:
            with fresh_postgres_database(POSTGRES_URL, "frontline_scale") as tracker_url:
                with deployment(
                    kind,
                    Path(tmp),
                    model=REPO_ROOT / "models" / "frontline.tar.gz",
                    tracker_store_url=tracker_url,
                    redis_url=REDIS_URL,
                    auth_token=TOKEN,
                ) as topology:
                    processes = {process.name: process for process in topology.processes}
                    run = asyncio.run(
                        run_load(
                            target=kind,
                            rasa_url=topology.balancer_url,
                            token=TOKEN,
                            scripts=FrontlineScripts(),
                            load_model="closed",
                            concurrency=args.concurrency,
                            duration=args.duration,
                            cpu_probe=functools.partial(cpu_snapshot, processes),
                        )
                    )
        results["runs"][kind] = run.summary()
        print(kind, results["runs"][kind]["throughput_msg_per_s"], "msg/s")
    base = results["runs"].get("one_instance", next(iter(results["runs"].values())))[
        "throughput_msg_per_s"
    ]
    lines = [
        f"# Scale-out: closed loop, {args.concurrency} conversations, {args.duration:.0f} s each",
        "",
        "| deployment | msg/s | vs one instance | p95 ms | errors | lost | reordered |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, run in results["runs"].items():
        lines.append(
            f"| {kind} | {run['throughput_msg_per_s']} | "
            f"{run['throughput_msg_per_s'] / base:.2f}x | {run['latency_all_ms'].get('p95')} | "
            f"{run['errors']} | {run['lost_turns']} | {run['reordered_turns']} |"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Another agent's request while 40 bad sign-ins hit the desk (issue 16, item 10).

    python -m bench.signin_burst [--burst 40] [--probes 20]

Starts a desk on SQLite with two agents; while ``--burst`` concurrent sign-ins with a
wrong password arrive from one address, a signed-in agent calls ``GET /api/me`` over
and over, and after the burst another agent signs in. Reports the other agent's
latencies (p50 / max), how many bad sign-ins got their password checked (401) and how
many were refused at once (429). Not part of ``make test``.

Writes ``bench/results/signin_burst.json`` and ``bench/results/signin_burst.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.desk.conftest import PASSWORD, start_desk
from tests.support.processes import REPO_ROOT, free_port

RESULTS = REPO_ROOT / "bench" / "results"


def run(burst: int, probes: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{Path(folder) / 'frontline.db'}"
        env = {
            "REDIS_URL": "",
            "HANDOFF_QUEUE": "sql",
            "RASA_URL": f"http://127.0.0.1:{free_port()}",
            "RASA_AUTH_TOKEN": "bench-" + uuid.uuid4().hex,
        }
        queue_config = {"type": "sql", "url": database_url, "lease_seconds": 30}
        running = start_desk(Path(folder), env, database_url, queue_config)
        try:
            return _measure(next(running), burst, probes)
        finally:
            running.close()  # stops the desk


def _measure(desk, burst: int, probes: int) -> dict[str, object]:
    ben, cleo = desk.agents["ben"], desk.agents["cleo"]
    go = threading.Barrier(burst + 1)

    def bad(index: int) -> int:
        go.wait()
        body = {"name": desk.agents["ana"].name, "password": f"wrong-{index}"}
        return requests.post(f"{desk.url}/api/session", json=body, timeout=120).status_code

    latencies: list[float] = []
    with ThreadPoolExecutor(burst) as pool:
        futures = [pool.submit(bad, index) for index in range(burst)]
        go.wait()
        for _ in range(probes):
            started = time.perf_counter()
            assert ben.call("GET", "/api/me").status_code == 200
            latencies.append(time.perf_counter() - started)
        statuses = [future.result() for future in futures]
    started = time.perf_counter()
    signed_in = requests.post(
        f"{desk.url}/api/session", json={"name": cleo.name, "password": PASSWORD}, timeout=60
    ).status_code
    sign_in_seconds = time.perf_counter() - started
    return {
        "burst": burst,
        "other_agent_me_first_ms": round(latencies[0] * 1000, 1),
        "other_agent_me_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "other_agent_me_max_ms": round(max(latencies) * 1000, 1),
        "passwords_checked": statuses.count(401),
        "refused_at_once": statuses.count(429),
        "other_account_sign_in": signed_in,
        "other_account_sign_in_ms": round(sign_in_seconds * 1000, 1),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", type=int, default=40)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    result = run(args.burst, args.probes)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "signin_burst.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Desk sign-in burst", "", "| measure | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in result.items()]
    (RESULTS / "signin_burst.md").write_text("\n".join(lines) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

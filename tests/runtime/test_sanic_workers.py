"""Sanic workers share the connections (patches/sanic_workers.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from tests.support.processes import ServerProcess, free_port


@pytest.fixture
def two_workers(tmp_path):
    command = [sys.executable, "-m", "tests.support.sanic_workers_app", "{port}", "balanced"]
    server = ServerProcess("sanic-workers", command, health_path="/", log_dir=tmp_path)
    server.start()
    yield server
    server.stop()


def test_no_worker_accepts_a_connection_before_every_worker_has_loaded(two_workers):
    # The readiness probe was the first request: it, and everything after, found both loaded.
    answers = [requests.get(two_workers.url, timeout=5).json() for _ in range(5)]
    assert {answer["loaded"] for answer in answers} == {2}


def test_new_connections_are_spread_over_both_workers(two_workers):
    # Each requests.get opens its own connection; the kernel hashes each to one worker's
    # socket, so 40 all landing on one worker would have odds of 2 in 2**40.
    pids = [requests.get(two_workers.url, timeout=5).json()["pid"] for _ in range(40)]
    counts = sorted(pids.count(pid) for pid in set(pids))
    assert len(counts) == 2, counts
    assert counts[0] >= 5, counts


def test_keep_alive_connections_opened_at_start_are_spread_too(two_workers):
    sessions = [requests.Session() for _ in range(20)]
    try:
        first = [s.get(two_workers.url, timeout=5).json()["pid"] for s in sessions]
        # Each session keeps its connection, and so its worker.
        again = [s.get(two_workers.url, timeout=5).json()["pid"] for s in sessions]
    finally:
        for session in sessions:
            session.close()
    assert first == again
    assert len(set(first)) == 2


def test_a_worker_that_dies_while_loading_stops_the_server_with_an_error():
    # Without the check the first worker would wait at the barrier for its start timeout
    # (600 s), and then serve alone; the 120 s limit here would end the test first.
    command = [sys.executable, "-m", "tests.support.sanic_workers_app"]
    finished = subprocess.run(
        [*command, str(free_port()), "balanced", "crash"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 1
    assert "could not load its model" in finished.stderr
    assert "stopping the other workers" in finished.stderr

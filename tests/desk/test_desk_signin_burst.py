"""A burst of bad sign-ins slows the guesser down, not the other agents (issue 16, item 10)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.desk.conftest import PASSWORD, Desk, start_desk
from tests.support.processes import free_port

BURST = 40


@pytest.fixture(scope="module")
def burst_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """A desk of its own: the throttle's state lives in the desk process."""
    folder: Path = tmp_path_factory.mktemp("burst-desk")
    database_url = f"sqlite:///{folder / 'frontline.db'}"
    env = {
        "REDIS_URL": "",
        "HANDOFF_QUEUE": "sql",
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "RASA_AUTH_TOKEN": "desk-test-" + uuid.uuid4().hex,
        "HANDOFF_LEASE_SECONDS": "30",
    }
    queue_config = {"type": "sql", "url": database_url, "lease_seconds": 30}
    yield from start_desk(folder, env, database_url, queue_config)


def test_a_burst_of_bad_sign_ins_locks_nobody_else_out(burst_desk: Desk) -> None:
    url = burst_desk.url
    ana, ben, cleo = (burst_desk.agents[key] for key in ("ana", "ben", "cleo"))
    # Cleo's browser signed in before: it holds a device token for her name.
    browser = requests.Session()
    before = browser.post(
        f"{url}/api/session", json={"name": cleo.name, "password": PASSWORD}, timeout=30
    )
    assert before.status_code == 200

    go = threading.Barrier(BURST + 1)
    done = threading.Event()
    finished: list[int] = []

    def bad_sign_in(index: int) -> requests.Response:
        name = ana.name if index % 2 else f"nobody-{index}"
        go.wait()
        response = requests.post(
            f"{url}/api/session", json={"name": name, "password": "wrong guess"}, timeout=60
        )
        finished.append(index)
        if len(finished) == BURST:
            done.set()
        return response

    with ThreadPoolExecutor(BURST) as pool:
        futures = [pool.submit(bad_sign_in, index) for index in range(BURST)]
        go.wait()
        me = ben.call("GET", "/api/me")
        ben_answered_during_burst = not done.is_set()
        signed_in = browser.post(
            f"{url}/api/session", json={"name": cleo.name, "password": PASSWORD}, timeout=30
        )
        answers = [future.result() for future in futures]

    assert me.status_code == 200 and me.json()["agent"]["name"] == ben.name
    assert signed_in.status_code == 200 and signed_in.json()["agent"]["name"] == cleo.name
    assert ben_answered_during_burst
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {401, 429}
    # Only a few passwords were checked; the rest were refused before any hashing.
    assert statuses.count(401) <= 6, statuses
    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused and all(
        answer.json()["error"] in {"too_many_attempts", "busy"}
        and int(answer.headers["Retry-After"]) >= 1
        for answer in refused
    )
    # Right after the burst, Cleo still signs in from the same address with her device.
    again = browser.post(
        f"{url}/api/session", json={"name": cleo.name, "password": PASSWORD}, timeout=30
    )
    assert again.status_code == 200

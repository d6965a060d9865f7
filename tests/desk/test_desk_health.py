"""The desk's liveness and readiness: a dependency down shows, and only in readiness."""

from __future__ import annotations

import requests


def test_with_rasa_down_the_desk_is_alive_but_not_ready(lone_desk):
    live = requests.get(f"{lone_desk.url}/health/live", timeout=10)
    old = requests.get(f"{lone_desk.url}/health", timeout=10)
    ready = requests.get(f"{lone_desk.url}/health/ready", timeout=10)

    assert (live.status_code, live.json()) == (200, {"status": "alive", "service": "desk"})
    assert (old.status_code, old.json()) == (200, {"status": "ok"})  # older probes keep working
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not_ready"
    dependencies = body["dependencies"]
    assert set(dependencies) == {"queue", "database", "rasa"}
    assert dependencies["queue"]["ok"] and dependencies["database"]["ok"]
    assert not dependencies["rasa"]["ok"]
    assert "ClientConnectorError" in dependencies["rasa"]["detail"]

"""The admin API: the fault switch, the data reset and the admin token."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from sandbox.testing import SandboxClient, SandboxProcess


@pytest.fixture
def lite_api(sqlite_server: SandboxProcess) -> Iterator[SandboxClient]:
    """A client of the SQLite sandbox with faults cleared before and after."""
    client = SandboxClient(sqlite_server)
    client.delete("/admin/faults").raise_for_status()
    yield client
    client.delete("/admin/faults").raise_for_status()
    client.close()


def test_error_fault_on_a_prefix(lite_api: SandboxClient) -> None:
    response = lite_api.put("/admin/faults", json={"error_status": 503, "path_prefix": "/orders"})
    assert response.status_code == 200
    assert response.json() == {
        "latency_ms": 0,
        "error_status": 503,
        "error_rate": 1.0,
        "path_prefix": "/orders",
        "after_ms": 0,
        "count": None,
        "active": True,
    }
    assert lite_api.get("/admin/faults").json() == response.json()

    failed = lite_api.get("/orders/482913")
    assert failed.status_code == 503
    assert failed.json()["error"] == "injected_fault"
    assert lite_api.get("/crm/customers/C1001").status_code == 200  # other prefix
    assert lite_api.get("/admin/faults").status_code == 200  # admin never faulted

    cleared = lite_api.delete("/admin/faults")
    assert cleared.status_code == 200 and cleared.json()["active"] is False
    assert lite_api.get("/orders/482913").status_code == 200


def test_injected_errors_change_nothing(lite_api: SandboxClient) -> None:
    lite_api.post("/admin/reset").raise_for_status()
    key = f"test-{uuid.uuid4()}"
    lite_api.put("/admin/faults", json={"error_status": 503}).raise_for_status()
    refused = lite_api.post("/orders/482914/cancel", headers={"Idempotency-Key": key})
    assert refused.status_code == 503
    lite_api.delete("/admin/faults").raise_for_status()
    assert lite_api.get("/orders/482914").json()["state"] == "paid"
    retried = lite_api.post("/orders/482914/cancel", headers={"Idempotency-Key": key})
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers


def test_latency_fault(lite_api: SandboxClient) -> None:
    lite_api.put("/admin/faults", json={"latency_ms": 500}).raise_for_status()
    started = time.monotonic()
    assert lite_api.get("/health").status_code == 200
    assert time.monotonic() - started >= 0.5

    lite_api.delete("/admin/faults").raise_for_status()
    started = time.monotonic()
    assert lite_api.get("/health").status_code == 200
    assert time.monotonic() - started < 0.4


def test_latency_then_error(lite_api: SandboxClient) -> None:
    fault = {"latency_ms": 300, "error_status": 502, "path_prefix": "/billing"}
    lite_api.put("/admin/faults", json=fault).raise_for_status()
    started = time.monotonic()
    assert lite_api.get("/billing/customers/C1001/charges").status_code == 502
    assert time.monotonic() - started >= 0.3


def test_error_rate_is_seeded(lite_api: SandboxClient) -> None:
    def statuses() -> list[int]:
        fault = {"error_status": 503, "error_rate": 0.5, "seed": 7}
        lite_api.put("/admin/faults", json=fault).raise_for_status()
        return [lite_api.get("/health").status_code for _ in range(30)]

    first, second = statuses(), statuses()
    assert first == second
    assert set(first) == {200, 503}


@pytest.mark.parametrize(
    "fault",
    [
        {"error_status": 200},
        {"error_status": "503"},
        {"error_rate": 1.5, "error_status": 503},
        {"latency_ms": -1},
        {"latency_ms": 1.5},
        {"path_prefix": "orders"},
        {"surprise": True},
    ],
)
def test_bad_fault_settings_are_refused(lite_api: SandboxClient, fault: dict) -> None:
    response = lite_api.put("/admin/faults", json=fault)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert lite_api.get("/admin/faults").json()["active"] is False


def test_malformed_fault_settings(lite_api: SandboxClient) -> None:
    response = lite_api.put("/admin/faults", data=b"{oops")
    assert response.status_code == 400 and response.json()["error"] == "invalid_json"


def test_reset_restores_the_seed(api: SandboxClient) -> None:
    api.post("/admin/reset").raise_for_status()
    key = f"test-{uuid.uuid4()}"
    assert api.post("/orders/482916/cancel", headers={"Idempotency-Key": key}).status_code == 200
    response = api.post("/admin/reset")
    assert response.status_code == 200
    summary = response.json()
    assert summary["status"] == "reset"
    assert summary["customers"] >= 60 and summary["orders"] >= 240
    assert api.get("/orders/482916").json()["state"] == "placed"
    # The idempotency records went with the data: the key is fresh again.
    again = api.post("/orders/482916/cancel", headers={"Idempotency-Key": key})
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """A sandbox started with ``SANDBOX_ADMIN_TOKEN`` set."""
    folder = tmp_path_factory.mktemp("sandbox-guarded")
    server = SandboxProcess(
        f"sqlite:///{folder / 'sandbox.db'}",
        folder / "server.log",
        env={"SANDBOX_ADMIN_TOKEN": "s3cret-token"},
    ).start()
    yield server
    server.stop()


def test_admin_token_is_enforced_when_set(guarded_server: SandboxProcess) -> None:
    url = guarded_server.url
    for method, path in (
        ("GET", "/admin/faults"),
        ("PUT", "/admin/faults"),
        ("POST", "/admin/reset"),
        ("DELETE", "/admin/faults"),
    ):
        for headers in ({}, {"X-Sandbox-Admin-Token": "wrong"}):
            response = requests.request(method, url + path, json={}, headers=headers, timeout=10)
            assert response.status_code == 401, (method, path, headers)
            assert response.json()["error"] == "unauthorized"

    good = {"X-Sandbox-Admin-Token": "s3cret-token"}
    assert requests.get(f"{url}/admin/faults", headers=good, timeout=10).status_code == 200
    fault = {"error_status": 503, "path_prefix": "/crm"}
    assert requests.put(f"{url}/admin/faults", json=fault, headers=good, timeout=10).ok
    assert requests.get(f"{url}/crm/customers/C1001", timeout=10).status_code == 503
    assert requests.delete(f"{url}/admin/faults", headers=good, timeout=10).ok
    # The rest of the API needs no token.
    assert requests.get(f"{url}/crm/customers/C1001", timeout=10).status_code == 200


def test_admin_is_open_without_token(lite_api: SandboxClient) -> None:
    assert lite_api.get("/admin/faults").status_code == 200

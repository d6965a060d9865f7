"""``python -m sandbox``: seeding on first start, persistence, ``--reset``; configuration."""

from __future__ import annotations

import subprocess
import sys
import uuid

from sandbox.config import DEFAULT_REQUEST_MAX_SIZE, SandboxConfig, default_database_url
from sandbox.testing import REPO_ROOT, SandboxClient, SandboxProcess


def test_data_survives_a_restart_and_reset_restores_it(tmp_path) -> None:
    server = SandboxProcess(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path / "cli.log", reset=False)
    with server:
        client = SandboxClient(server)
        assert client.get("/orders/482914").json()["state"] == "paid"  # seeded on first start
        cancel = client.post(
            "/orders/482914/cancel", headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        assert cancel.status_code == 200
        client.close()

    server.start()  # no --reset: the data is kept
    client = SandboxClient(server)
    assert client.get("/orders/482914").json()["state"] == "cancelled"
    client.close()
    server.stop()

    server.start(reset=True)
    client = SandboxClient(server)
    assert client.get("/orders/482914").json()["state"] == "paid"
    client.close()
    server.stop()


def test_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    for option in ("--host", "--port", "--database-url", "--reset"):
        assert option in result.stdout


def test_config_from_environment() -> None:
    config = SandboxConfig.from_env({})
    assert config.database_url == default_database_url()
    assert config.database_url.endswith("/var/sandbox.db")
    assert config.admin_token is None
    assert config.request_max_size == DEFAULT_REQUEST_MAX_SIZE == 64 * 1024

    config = SandboxConfig.from_env(
        {
            "SANDBOX_DATABASE_URL": "postgresql://u@h/db",
            "SANDBOX_ADMIN_TOKEN": "t",
            "SANDBOX_REQUEST_MAX_SIZE": "1024",
        }
    )
    assert (config.database_url, config.admin_token, config.request_max_size) == (
        "postgresql://u@h/db",
        "t",
        1024,
    )

"""Fixtures of the sandbox tests: real sandbox servers reached over real HTTP.

Each server is ``python -m sandbox`` in a subprocess on a free loopback port, on
SQLite (a temporary file) or on PostgreSQL (a database of its own, created here and
dropped afterwards, so a shared server's other databases are never touched).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
STARTUP_DEADLINE_SECONDS = 30.0


def free_port() -> int:
    """A TCP port that was free on the loopback interface a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandboxProcess:
    """``python -m sandbox`` running in a subprocess.

    Args:
        database_url: Where the sandbox keeps its data.
        log_path: File receiving the server's output (shown when startup fails).
        reset: Pass ``--reset`` (drop the tables and seed afresh).
        env: Extra environment variables.
    """

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        reset: bool = True,
        env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._reset = reset
        self._env = env or {}
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> SandboxProcess:
        """Starts the server and waits (bounded) until ``/health`` answers."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        env.update(self._env)
        command = [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
            "--log-level",
            "WARNING",
        ]
        if self._reset:
            command.append("--reset")
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"sandbox exited at startup:\n{self.log_path.read_text()}")
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass  # not listening yet: poll again
            time.sleep(0.05)  # polling interval of the bounded readiness wait
        self.stop()
        raise RuntimeError(f"sandbox not ready in time:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL if it does not exit)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _postgres_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def sandbox_pg_url() -> Iterator[str]:
    """URL of a PostgreSQL database of the sandbox tests' own, dropped at the end."""
    if not _postgres_reachable(POSTGRES_URL):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable, and CI requires it")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable")
    name = f"sandbox_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = (
            sa.engine.make_url(POSTGRES_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
        yield url
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """A sandbox on a SQLite file, for the whole session."""
    folder = tmp_path_factory.mktemp("sandbox-sqlite")
    server = SandboxProcess(f"sqlite:///{folder / 'sandbox.db'}", folder / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgresql_server(
    sandbox_pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SandboxProcess]:
    """A sandbox on its own PostgreSQL database, for the whole session."""
    folder = tmp_path_factory.mktemp("sandbox-postgresql")
    server = SandboxProcess(sandbox_pg_url, folder / "server.log").start()
    yield server
    server.stop()


class Api:
    """A small HTTP client of one sandbox server (every call has a timeout).

    Args:
        server: The server to call.
        admin_token: Sent as ``X-Sandbox-Admin-Token`` when given.
    """

    def __init__(self, server: SandboxProcess, admin_token: str | None = None) -> None:
        self.server = server
        self.url = server.url
        self._session = requests.Session()
        if admin_token is not None:
            self._session.headers["X-Sandbox-Admin-Token"] = admin_token

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Sends a request to ``path`` on the server."""
        kwargs.setdefault("timeout", 15)
        return self._session.request(method, f"{self.url}{path}", **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """``GET path``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        """``POST path``."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        """``PUT path``."""
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        """``DELETE path``."""
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        """Closes the pooled connections."""
        self._session.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    """A client of a running sandbox (SQLite, then PostgreSQL), with faults cleared."""
    client = Api(request.getfixturevalue(f"{request.param}_server"))
    client.delete("/admin/faults").raise_for_status()
    yield client
    client.delete("/admin/faults").raise_for_status()
    client.close()


@pytest.fixture
def fresh_api(api: Api) -> Api:
    """Like ``api``, with the data just reset to the demo seed."""
    api.post("/admin/reset", timeout=60).raise_for_status()
    return api

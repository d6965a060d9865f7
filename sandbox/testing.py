"""Helpers for tests that need a running sandbox: start it, wait for it, call it.

Used by the sandbox's own tests and available to any other test suite (the action
server's integration tests, load tests)::

    from sandbox.testing import SandboxProcess, SandboxClient

    server = SandboxProcess("sqlite:////tmp/sandbox.db", Path("/tmp/sandbox.log")).start()
    client = SandboxClient(server)
    client.get("/orders/482913").json()
    server.stop()

It needs ``requests`` (installed with Rasa), which the service itself does not use.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_DEADLINE_SECONDS = 30.0


def free_port() -> int:
    """A TCP port that was free on the loopback interface a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """Stops ``process`` if it still runs: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class SandboxProcess:
    """``python -m sandbox`` running in a subprocess on a free loopback port.

    Args:
        database_url: Where the sandbox keeps its data.
        log_path: File receiving the server's output (quoted when startup fails).
        reset: Pass ``--reset`` at start (drop the tables and seed afresh).
        env: Extra environment variables (inherited ``SANDBOX_*`` ones are dropped).
        port: Port to listen on; a free one when omitted.
    """

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        reset: bool = True,
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.reset = reset
        self._env = env or {}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, *, reset: bool | None = None) -> SandboxProcess:
        """Starts the server and waits, with a bounded deadline, until ``/health`` answers.

        Args:
            reset: Overrides the constructor's ``reset`` for this start.

        Raises:
            RuntimeError: The server exited or did not answer in time (log included).
        """
        if self.running:
            raise RuntimeError("the sandbox is already running")
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
        if self.reset if reset is None else reset:
            command.append("--reset")
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise RuntimeError(f"sandbox exited at startup:\n{self.log_path.read_text()}")
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass  # not listening yet: poll again
            time.sleep(0.05)  # polling interval of the bounded readiness wait
        self.stop()
        raise RuntimeError(f"sandbox not ready in time:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL if it does not exit in time)."""
        process, self._process = self._process, None
        stop_process(process, timeout=15)

    def __enter__(self) -> SandboxProcess:
        return self if self.running else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class SandboxClient:
    """A small HTTP client of one sandbox server (every call has a timeout).

    Args:
        server: The server to call, or its base URL.
        admin_token: Sent as ``X-Sandbox-Admin-Token`` when given.
    """

    def __init__(self, server: SandboxProcess | str, admin_token: str | None = None) -> None:
        self.url = (server.url if isinstance(server, SandboxProcess) else server).rstrip("/")
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

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        """``PATCH path``."""
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        """``PUT path``."""
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        """``DELETE path``."""
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        """Closes the pooled connections."""
        self._session.close()

"""Real servers in subprocesses: the sandbox, the action server and the Rasa server.

Each listens on a free loopback port; ``start()`` waits (with a deadline) until the
server's health URL answers, and shows the server's log if it never does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port that was free on the loopback interface a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """One server in a subprocess, started and stopped by tests.

    Args:
        name: For messages and the log file name.
        command: The command line; ``{port}`` is replaced by the chosen port.
        health_path: Path that answers 200 once the server is ready.
        log_dir: Folder receiving ``<name>.log``.
        env: Variables added to (or, with value None, removed from) the environment.
        startup_seconds: Deadline of the readiness wait.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        health_path: str,
        log_dir: Path,
        env: Mapping[str, str | None] | None = None,
        startup_seconds: float = 120.0,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [part.replace("{port}", str(self.port)) for part in command]
        self.health_path = health_path
        self.log_path = log_dir / f"{name}.log"
        self.env = dict(env or {})
        self.startup_seconds = startup_seconds
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        """Starts the server and waits until its health URL answers."""
        env = dict(os.environ)
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self.command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + self.startup_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at startup:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}{self.health_path}", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass  # not listening yet: poll again
            time.sleep(0.1)  # polling interval of the bounded readiness wait
        self.stop()
        raise RuntimeError(f"{self.name} not ready in {self.startup_seconds}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server's log."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL if it does not exit)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def sandbox_process(database_url: str, log_dir: Path, *, reset: bool = True) -> ServerProcess:
    """``python -m sandbox`` on ``database_url``."""
    command = [sys.executable, "-m", "sandbox", "--port", "{port}", "--database-url", database_url]
    command += ["--log-level", "WARNING"] + (["--reset"] if reset else [])
    env = {k: None for k in os.environ if k.startswith("SANDBOX_")}
    return ServerProcess("sandbox", command, health_path="/health", log_dir=log_dir, env=env)


def action_server_process(log_dir: Path, env: Mapping[str, str | None]) -> ServerProcess:
    """``rasa run actions`` with Frontline's actions, configured by ``env``."""
    command = [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", "{port}"]
    return ServerProcess("actions", command, health_path="/health", log_dir=log_dir, env=env)


def rasa_server_process(
    model: Path, log_dir: Path, env: Mapping[str, str | None], auth_token: str
) -> ServerProcess:
    """``rasa run`` with the HTTP API enabled (token-protected) and ``endpoints.yml``."""
    command = [
        str(BIN / "rasa"), "run", "--model", str(model), "--port", "{port}",
        "--enable-api", "--auth-token", auth_token, "--endpoints", "endpoints.yml",
        "--credentials", "credentials.yml",
    ]  # fmt: skip
    return ServerProcess("rasa", command, health_path="/", log_dir=log_dir, env=env)

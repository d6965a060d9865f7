"""Real servers in subprocesses: the sandbox, the action server and the Rasa server.

Each listens on a free loopback port; ``start()`` waits (with a deadline) until the
server's health URL answers, and shows the server's log if it never does.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import requests

from sandbox.testing import free_port, stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: Signs the channels' session tokens in the servers tests start (one per test run).
CHANNEL_SECRET = secrets.token_hex(32)
#: The secret the Rasa servers tests start send their action servers (one per test run).
ACTION_SECRET = secrets.token_hex(32)
#: A limits policy with rate limits no test or benchmark reaches.
LOOSE_LIMITS = REPO_ROOT / "tests" / "support" / "policies" / "limits_loose.yml"
#: Set by a test run on stock Rasa; the servers tests start run Frontline's runtime.
STOCK_RASA = "FRONTLINE_STOCK_RASA"


class ServerProcess:
    """One server in a subprocess, started and stopped by tests.

    Args:
        name: For messages and the log file name.
        command: The command line; ``{port}`` is replaced by the chosen port.
        health_path: Path that answers 200 once the server is ready.
        log_dir: Folder receiving ``<name>.log``.
        env: Variables added to (or, with value None, removed from) the environment.
        startup_seconds: Deadline of the readiness wait.
        cwd: Working directory (the repository by default).
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
        cwd: Path = REPO_ROOT,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [part.replace("{port}", str(self.port)) for part in command]
        self.health_path = health_path
        self.log_path = log_dir / f"{name}.log"
        self.env = dict(env or {})
        self.startup_seconds = startup_seconds
        self.cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        """Starts the server and waits until its health URL answers."""
        return self.launch().wait_ready()

    def launch(self) -> ServerProcess:
        """Starts the process without waiting (start several, then ``wait_ready`` each)."""
        env = dict(os.environ)
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self.command, cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def wait_ready(self) -> ServerProcess:
        """Waits (with a deadline) until the health URL answers 200."""
        assert self._process is not None, "launch() first"
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

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def peak_rss_mb(self) -> float | None:
        """Peak resident memory (Linux ``VmHWM``) of the process and its live children, MiB.

        With Sanic workers each worker loads its own model, so their peaks add up.
        """
        if self.pid is None:
            return None
        total_kib = 0
        for pid in process_tree(self.pid):
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue  # exited meanwhile
            total_kib += sum(int(line.split()[1]) for line in lines if line.startswith("VmHWM:"))
        return round(total_kib / 1024, 1)

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the process and its live children have used so far.

        Children count because Sanic's workers (``SANIC_WORKERS``) are child processes.
        """
        if self.pid is None:
            return None
        total = 0.0
        for pid in process_tree(self.pid):
            try:
                total += cpu_seconds(pid)
            except OSError:
                continue  # exited meanwhile
        return total

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server's log."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL if it does not exit)."""
        process, self._process = self._process, None
        stop_process(process, timeout=20)


def sandbox_process(database_url: str, log_dir: Path, *, reset: bool = True) -> ServerProcess:
    """``python -m sandbox`` on ``database_url``."""
    command = [sys.executable, "-m", "sandbox", "--port", "{port}", "--database-url", database_url]
    command += ["--log-level", "WARNING"] + (["--reset"] if reset else [])
    env = {k: None for k in os.environ if k.startswith("SANDBOX_")}
    return ServerProcess("sandbox", command, health_path="/health", log_dir=log_dir, env=env)


def action_server_process(
    log_dir: Path, env: Mapping[str, str | None], name: str = "actions"
) -> ServerProcess:
    """The action server with Frontline's actions, configured by ``env``.

    ``python -m frontline.action_server`` is ``rasa run actions`` that first checks the
    policies (and refuses to start with a broken one).
    """
    command = [sys.executable, "-m", "frontline.action_server", "--actions", "actions"]
    command += ["--port", "{port}"]
    env = {"FRONTLINE_ACTION_SECRET": ACTION_SECRET, **env}
    return ServerProcess(name, command, health_path="/health", log_dir=log_dir, env=env)


NGINX_CONF = """
{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  # Trackers sent to the action server are large: keep bodies in memory.
  client_body_buffer_size 16m;
  client_max_body_size 64m;
  client_body_temp_path {folder}/nginx-body;
  proxy_temp_path {folder}/nginx-proxy;
  fastcgi_temp_path {folder}/nginx-fastcgi;
  uwsgi_temp_path {folder}/nginx-uwsgi;
  scgi_temp_path {folder}/nginx-scgi;
  upstream rasa {{ {rasa} }}
  upstream actions {{ {actions} }}
  server {{
    listen 127.0.0.1:{port};
    location = /nginx-health {{ return 200 "ok"; }}
    location /actions/ {{ proxy_pass http://actions/; proxy_read_timeout 60s; }}
    location / {{ proxy_pass http://rasa; proxy_read_timeout 120s; }}
  }}
}}
"""


def nginx_process(rasa_urls: list[str], action_urls: list[str], log_dir: Path) -> ServerProcess:
    """Debian's nginx balancing Rasa instances at ``/`` and action servers at ``/actions/``."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = ServerProcess(
        "nginx",
        [nginx, "-p", str(log_dir), "-c", str(log_dir / "nginx.conf"), "-g", "daemon off;"],
        health_path="/nginx-health",
        log_dir=log_dir,
        startup_seconds=20,
    )

    def servers(urls: list[str]) -> str:
        return " ".join(f"server {url.removeprefix('http://')};" for url in urls)

    (log_dir / "nginx.conf").write_text(
        NGINX_CONF.format(
            # Workers of a root master would run as "nobody", who cannot use the test's
            # private temporary folder.
            user="user root;" if os.geteuid() == 0 else "",
            folder=log_dir,
            port=process.port,
            rasa=servers(rasa_urls),
            actions=servers(action_urls),
        )
    )
    return process


def rasa_server_process(
    model: Path,
    log_dir: Path,
    env: Mapping[str, str | None],
    auth_token: str,
    name: str = "rasa",
) -> ServerProcess:
    """``rasa run`` as production starts it: ``python -m frontline.runtime`` (every patch
    checked, applied and verified), the HTTP API on, ``endpoints.yml``; the API token in
    the environment, never on the command line.

    Unless ``env`` says otherwise, the channels sign session tokens with this test run's
    :data:`CHANNEL_SECRET` (so several servers, and a restarted one, accept each other's)
    and apply :data:`LOOSE_LIMITS`, so tests and benchmarks sending many messages from
    one address are not rate-limited.
    """
    env = {
        "FRONTLINE_CHANNEL_SECRET": CHANNEL_SECRET,
        "FRONTLINE_ACTION_SECRET": ACTION_SECRET,
        "FRONTLINE_LIMITS_POLICY": str(LOOSE_LIMITS),
        **env,
    }
    command = [
        str(BIN / "python"), "-m", "frontline.runtime", "run", "--model", str(model),
        "--port", "{port}", "--enable-api", "--endpoints", "endpoints.yml",
        "--credentials", "credentials.yml",
    ]  # fmt: skip
    runtime = {"RASA_AUTH_TOKEN": auth_token, "RASA_AUTH_TOKEN_FILE": None, STOCK_RASA: None}
    # Loading the model takes 20-40 s alone; minutes on a machine busy with other work.
    return ServerProcess(
        name, command, health_path="/", log_dir=log_dir, env={**env, **runtime}, startup_seconds=300
    )


def desk_process(log_dir: Path, env: Mapping[str, str | None], name: str = "desk") -> ServerProcess:
    """``python -m desk``, the agent desk, configured by ``env`` (queue, RASA_URL, token)."""
    command = [sys.executable, "-m", "desk", "--port", "{port}", "--log-level", "INFO"]
    return ServerProcess(
        name, command, health_path="/health", log_dir=log_dir, env=env, startup_seconds=60
    )


def process_tree(pid: int) -> list[int]:
    """``pid`` and the PIDs of all its live descendants (Linux ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
        children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, ()))
    return tree


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` so far (Linux ``/proc/<pid>/stat``)."""
    # The command name (field 2) may hold spaces: the fields we want follow its ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float | None:
    """Current resident memory of a process (Linux ``VmRSS``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None

"""No secret is on the command line of any process of the stack (issue 16, finding 4).

Any local user can read every process's command line (``ps``, ``/proc/<pid>/cmdline``).
The stack the end-to-end suite runs (sandbox, action server, Rasa server with its
workers, and the desk and web chat the browser tests add) is started, and each command
line is searched for every secret the stack was given: the Rasa API token, Slack's bot
token and signing secret, any other variable named like a secret and any password in a
URL. The Rasa server
still gets its token: the launcher hands it over inside the process.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import AUTH_TOKEN, Stack
from tests.support.processes import (
    ACTION_SECRET,
    ServerProcess,
    desk_process,
    process_tree,
)

pytestmark = pytest.mark.e2e

SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|_KEY$|CREDENTIAL", re.IGNORECASE)


def secrets_in(env: dict[str, str]) -> set[str]:
    """Values of variables named like secrets, and passwords inside URLs (databases)."""
    found = {value for name, value in env.items() if SECRET_NAME.search(name) and value}
    for value in env.values():
        password = urlsplit(value).password if "://" in value else None
        if password:
            found.add(password)
    return found


@pytest.fixture
def desk_and_webchat(stack: Stack, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """The desk and the web chat page, started for the stack as the e2e tests start them."""
    desk_env = {**stack.env, "RASA_URL": stack.rasa.url, "RASA_AUTH_TOKEN": AUTH_TOKEN}
    webchat = ServerProcess(
        "webchat",
        [sys.executable, "-m", "webchat", "--port", "{port}", "--log-level", "WARNING"],
        health_path="/health",
        log_dir=tmp_path,
        env={"WEBCHAT_SOCKET_URL": stack.rasa.url, "WEBCHAT_STORAGE": "session"},
    )
    started = [desk_process(tmp_path, desk_env).launch(), webchat.launch()]
    try:
        yield [server.wait_ready() for server in started]
    finally:
        for server in started:
            server.stop()


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


@pytest.mark.parametrize("stack", ["defaults"], indirect=True)
def test_no_process_of_the_stack_has_a_secret_on_its_command_line(stack, desk_and_webchat):
    # The action server's shared secret (frontline/action_auth.py) included.
    secrets = {AUTH_TOKEN, ACTION_SECRET} | secrets_in(stack.env)
    assert {stack.env["SLACK_BOT_TOKEN"], stack.env["SLACK_SIGNING_SECRET"]} < secrets
    servers = [stack.sandbox, stack.actions, stack.rasa, *desk_and_webchat]
    command_lines = {
        f"{server.name} ({pid})": command_line(pid)
        for server in servers
        for pid in process_tree(server.pid)
    }
    assert len(command_lines) >= len(servers)
    assert "frontline.runtime run" in command_lines[f"rasa ({stack.rasa.pid})"]
    for process, line in command_lines.items():
        for secret in secrets:
            assert secret not in line, f"a secret is on the command line of {process}"


@pytest.mark.parametrize("stack", ["defaults"], indirect=True)
def test_rasa_got_its_token_inside_the_process_and_runs_every_patch(stack):
    status = f"{stack.rasa.url}/status"
    assert requests.get(status, timeout=10).status_code == 401
    answer = requests.get(status, params={"token": AUTH_TOKEN}, timeout=10)
    assert answer.status_code == 200 and answer.json()["model_file"].endswith("frontline.tar.gz")
    assert requests.get(status, params={"token": AUTH_TOKEN + "x"}, timeout=10).status_code == 401
    # The e2e suite runs what production runs: Rasa through the launcher, every patch on.
    assert "Run-time patches applied and verified: schema_check," in stack.rasa.log_path.read_text()

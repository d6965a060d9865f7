"""A real agent desk process, agents made with its command line, and API helpers."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
import sqlalchemy as sa

from frontline.db import session_scope
from frontline.handoff.queue import HandoffQueue, create
from tests.support.browser import browser  # noqa: F401
from tests.support.processes import REPO_ROOT, ServerProcess, desk_process, free_port
from tests.support.servers import POSTGRES_URL

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

PASSWORD = "correct horse battery staple"


def add_agent(database_url: str, name: str, role: str, password: str = PASSWORD) -> None:
    """Creates an agent with ``python -m desk.agents add``, the password on stdin."""
    result = subprocess.run(
        [sys.executable, "-m", "desk.agents", "--database-url", database_url, "add"]
        + ["--name", name, "--role", role],
        input=password + "\n",
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"Created {role} {name}." in result.stdout


@dataclass
class DeskClient:
    """One signed-in agent talking to the desk's API with a bearer token."""

    url: str
    name: str
    token: str
    session: requests.Session = field(default_factory=requests.Session)

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        kwargs: dict[str, Any] = {"headers": headers, "timeout": 30}
        if body is not None:
            kwargs["json"] = body
        return self.session.request(method, f"{self.url}{path}", **kwargs)

    def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self.call(method, path, body)
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()

    def queue(self) -> dict[str, Any]:
        return self.ok("GET", "/api/queue")

    def entry(self, entry_id: str) -> dict[str, Any]:
        return self.ok("GET", f"/api/entries/{entry_id}")

    def post(self, entry_id: str, action: str, body: Any = None) -> requests.Response:
        return self.call("POST", f"/api/entries/{entry_id}/{action}", body)


def sign_in(url: str, name: str, password: str = PASSWORD) -> DeskClient:
    response = requests.post(
        f"{url}/api/session",
        json={"name": name, "password": password, "bearer": True},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return DeskClient(url, name, response.json()["token"])


@dataclass
class Desk:
    """A running desk, its database, its queue and its signed-in agents."""

    server: ServerProcess
    database_url: str
    queue: HandoffQueue
    agents: dict[str, DeskClient]

    @property
    def url(self) -> str:
        return self.server.url


def start_desk(
    folder: Path, env: Mapping[str, str | None], database_url: str, queue_config: dict[str, Any]
) -> Iterator[Desk]:
    """Creates agents ana (supervisor), ben and cleo, starts the desk, signs them in."""
    suffix = uuid.uuid4().hex[:6]
    names = {"ana": f"ana-{suffix}", "ben": f"ben-{suffix}", "cleo": f"cleo-{suffix}"}
    add_agent(database_url, names["ana"], "supervisor")
    add_agent(database_url, names["ben"], "agent")
    add_agent(database_url, names["cleo"], "agent")
    server = desk_process(folder, {**env, "FRONTLINE_DATABASE_URL": database_url}).start()
    queue = create(queue_config)
    try:
        agents = {key: sign_in(server.url, name) for key, name in names.items()}
        yield Desk(server, database_url, queue, agents)
    finally:
        queue.close()
        server.stop()


def desk_on_stack(
    stack: Stack, folder: Path, auth_token: str, *, forget_agents: bool = True
) -> Iterator[Desk]:
    """The agent desk on an e2e stack's queue and database, talking to its Rasa server.

    The production-like stack (Redis) keeps agents in PostgreSQL: with ``forget_agents``
    they are deleted afterwards, as that database is shared.
    """
    env = dict(stack.actions.env)
    if env.get("REDIS_URL"):
        database_url = POSTGRES_URL
        queue_config = {"type": "redis", "url": env["REDIS_URL"], "stream": env["HANDOFF_STREAM"]}
    else:
        database_url = env["FRONTLINE_DATABASE_URL"]
        queue_config = {"type": "sql", "url": database_url}
    desk_env = {**env, "RASA_URL": stack.rasa.url, "RASA_AUTH_TOKEN": auth_token}
    started = start_desk(folder, desk_env, database_url, queue_config)
    desk = next(started)
    try:
        yield desk
    finally:
        started.close()
        if forget_agents and database_url.startswith("postgresql"):
            names = [client.name for client in desk.agents.values()]
            with session_scope(database_url) as session:
                session.execute(
                    sa.text("DELETE FROM desk_agents WHERE name = ANY(:names)"), {"names": names}
                )


@pytest.fixture(scope="module")
def lone_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """A desk on SQLite whose Rasa server is down (nothing listens at RASA_URL)."""
    folder = tmp_path_factory.mktemp("desk")
    database_url = f"sqlite:///{folder / 'frontline.db'}"
    env = {
        "REDIS_URL": "",
        "HANDOFF_QUEUE": "sql",
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "RASA_AUTH_TOKEN": "desk-test-" + uuid.uuid4().hex,
        "BACKEND_TIMEOUT_SECONDS": "2",
        "HANDOFF_LEASE_SECONDS": "30",
    }
    queue_config = {"type": "sql", "url": database_url, "lease_seconds": 30}
    yield from start_desk(folder, env, database_url, queue_config)

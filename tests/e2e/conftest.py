"""The whole stack, started for real: sandbox, action server, Rasa server.

Runs twice: with the defaults a laptop gets (SQLite tracker store, in-memory lock
store, SQL handoff queue) and with the production servers (PostgreSQL tracker
store, Redis lock store, Redis Streams handoff queue).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from frontline.channels.ids import conversation_id
from frontline.channels.sessions import TOKEN_HEADER
from frontline.handoff.queue import HandoffQueue, create
from tests.support.browser import browser  # noqa: F401 - headless Chromium for e2e tests
from tests.support.fake_slack import FakeSlack, SlackSender
from tests.support.processes import (
    REPO_ROOT,
    ServerProcess,
    action_server_process,
    rasa_server_process,
    sandbox_process,
)
from tests.support.servers import POSTGRES_URL, REDIS_URL, require_server

MODEL = REPO_ROOT / "models" / "frontline.tar.gz"
AUTH_TOKEN = "e2e-" + uuid.uuid4().hex
BACKEND_TIMEOUT_SECONDS = "1.5"
SANDBOX_NOW = "2026-11-01T12:00:00Z"


@dataclass
class Stack:
    """The running servers and what tests need to talk to them."""

    sandbox: ServerProcess
    actions: ServerProcess
    rasa: ServerProcess
    queue: HandoffQueue
    processes: list[ServerProcess] = field(default_factory=list)
    #: Slack's Web API, faked; the Rasa server's Slack channel posts its replies there.
    slack: FakeSlack | None = None
    #: Signs requests as Slack would, with the Rasa server's SLACK_SIGNING_SECRET.
    slack_sender: SlackSender | None = None
    #: The environment the action and Rasa servers run with (database URLs, ...).
    env: dict[str, str] = field(default_factory=dict)

    def conversation(self) -> Conversation:
        return Conversation(self, f"e2e-{uuid.uuid4().hex[:12]}")

    def order(self, order_id: str) -> dict[str, Any]:
        response = requests.get(f"{self.sandbox.url}/orders/{order_id}", timeout=10)
        response.raise_for_status()
        return response.json()

    def set_faults(self, **faults: Any) -> None:
        requests.put(f"{self.sandbox.url}/admin/faults", json=faults, timeout=10).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.sandbox.url}/admin/faults", timeout=10).raise_for_status()


@dataclass
class Conversation:
    """One customer talking to the assistant over the REST channel.

    ``customer_id`` is what the customer's client sends as ``sender``; :attr:`sender` is
    the conversation's id inside Rasa (``rest:<customer_id>``: the tracker, the queue,
    the audit trail). The client keeps the session token of the first answer and sends
    it with every later message, as REST clients must.
    """

    stack: Stack
    customer_id: str
    replies: list[dict[str, Any]] = field(default_factory=list)
    session_token: str | None = None

    @property
    def sender(self) -> str:
        return conversation_id("rest", self.customer_id)

    def post(self, text: str) -> requests.Response:
        """Sends a message as the customer's client does; returns the raw answer."""
        headers = {TOKEN_HEADER: self.session_token} if self.session_token else {}
        response = requests.post(
            f"{self.stack.rasa.url}/webhooks/rest/webhook",
            json={"sender": self.customer_id, "message": text},
            headers=headers,
            timeout=60,
        )
        self.session_token = response.headers.get(TOKEN_HEADER) or self.session_token
        return response

    def say(self, text: str) -> list[str]:
        """Sends a message; returns the texts of the assistant's replies."""
        response = self.post(text)
        response.raise_for_status()
        self.replies = response.json()
        return [reply.get("text", "") for reply in self.replies]

    def buttons(self) -> list[dict[str, str]]:
        return [button for reply in self.replies for button in reply.get("buttons", [])]

    def tracker(self) -> dict[str, Any]:
        response = requests.get(
            f"{self.stack.rasa.url}/conversations/{self.sender}/tracker",
            params={"token": AUTH_TOKEN},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


def _configuration(kind: str, folder: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """Environment of the servers and the matching queue configuration."""
    if kind == "defaults":
        queue_db = f"sqlite:///{folder / 'frontline.db'}"
        return (
            {
                "TRACKER_STORE_URL": f"sqlite:///{folder / 'tracker.db'}",
                "REDIS_URL": "",
                "FRONTLINE_DATABASE_URL": queue_db,
            },
            {"type": "sql", "url": queue_db, "queue_name": "default"},
        )
    postgres = require_server(POSTGRES_URL, "PostgreSQL")
    redis_url = require_server(REDIS_URL, "Redis")
    stream = f"frontline:e2e:{uuid.uuid4().hex[:8]}"
    return (
        {
            "TRACKER_STORE_URL": postgres,
            "REDIS_URL": redis_url,
            "HANDOFF_STREAM": stream,
            # Frontline's own tables (audit trail, ...) on PostgreSQL too; a chain of
            # this run's own, so runs sharing the database never mix their records.
            "FRONTLINE_DATABASE_URL": postgres,
            "FRONTLINE_AUDIT_CHAIN": f"e2e-{uuid.uuid4().hex[:8]}",
        },
        {"type": "redis", "url": redis_url, "stream": stream},
    )


@pytest.fixture(scope="module", params=["defaults", "servers"])
def stack(request, tmp_path_factory) -> Iterator[Stack]:
    """The started stack for one module, in each configuration."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    folder = tmp_path_factory.mktemp(f"stack-{request.param}")
    env, queue_config = _configuration(request.param, folder)
    started: list[ServerProcess] = []
    slack = FakeSlack().start()
    slack_sender = SlackSender(uuid.uuid4().hex)
    try:
        sandbox = sandbox_process(f"sqlite:///{folder / 'sandbox.db'}", folder).start()
        started.append(sandbox)
        common = {
            **env,
            "SANDBOX_URL": sandbox.url,
            "BACKEND_TIMEOUT_SECONDS": BACKEND_TIMEOUT_SECONDS,
            "RASA_TELEMETRY_ENABLED": "false",
            # The sandbox's demo data is dated 2026-11-01: judge return windows then.
            "FRONTLINE_AS_OF": SANDBOX_NOW,
            # Slack is on, talking to the fake Web API (tests/slack/).
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": slack_sender.signing_secret,
            "SLACK_API_URL": slack.url,
            "SLACK_CHANNEL": "",
            # As `make run`: demo conversations (ids starting SIM<N>D) are dated back.
            "FRONTLINE_SIMULATED_CLOCK": "1",
        }
        actions = action_server_process(folder, common).start()
        started.append(actions)
        rasa_env = common | {"ACTION_ENDPOINT_URL": f"{actions.url}/webhook"}
        rasa = rasa_server_process(MODEL, folder, rasa_env, AUTH_TOKEN).start()
        started.append(rasa)
        queue = create(queue_config)
        yield Stack(
            sandbox,
            actions,
            rasa,
            queue,
            started,
            slack=slack,
            slack_sender=slack_sender,
            env=common,
        )
        queue.close()
    finally:
        for process in reversed(started):
            process.stop()
        slack.stop()

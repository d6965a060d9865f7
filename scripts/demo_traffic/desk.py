"""A person at the agent desk, through the desk's own API (as its page uses it).

The demo's agent (``demo-agent``) is created in the desk's database, or given a fresh
random password if it exists; the password never leaves this process.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import requests

from desk.accounts.store import AgentStore
from scripts.demo_traffic.channels import POLL_SECONDS, DemoError

AGENT_NAME = "demo-agent"
REPLY = "Hi, this is the demo agent from support. I have checked it for you."
#: Seconds to wait for the handoff to reach the queue.
QUEUE_SECONDS = 30.0


def ensure_agent(database_url: str, name: str = AGENT_NAME) -> str:
    """Creates (or resets) the demo's agent; returns its new password."""
    store = AgentStore(database_url)
    password = secrets.token_urlsafe(18)
    if store.get_agent(name) is None:
        store.add_agent(name, "agent", password, display_name="Demo agent")
    else:
        store.set_password(name, password)
    return password


@dataclass
class DeskAgent:
    """A signed-in agent answering handed-off conversations."""

    url: str
    token: str

    @classmethod
    def sign_in(cls, url: str, name: str, password: str) -> DeskAgent:
        response = requests.post(
            f"{url}/api/session",
            json={"name": name, "password": password, "bearer": True},
            timeout=30,
        )
        if response.status_code != 200:
            raise DemoError(f"the desk refused the demo agent: {response.text[:200]}")
        return cls(url, response.json()["token"])

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = requests.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )
        if response.status_code != 200:
            raise DemoError(f"desk {method} {path}: {response.status_code} {response.text[:200]}")
        return response.json()

    def find_entry(self, conversation_id: str) -> str:
        """The pending entry of a conversation, once it reaches the queue."""
        deadline = time.monotonic() + QUEUE_SECONDS
        while time.monotonic() < deadline:
            for card in self.call("GET", "/api/queue")["pending"]:
                if card["conversation_id"] == conversation_id:
                    return str(card["entry_id"])
            time.sleep(POLL_SECONDS)
        raise DemoError(f"{conversation_id} never reached the desk's queue")

    def answer(self, conversation_id: str, action: str) -> str:
        """Claims the conversation, replies, then resolves or hands it back; returns the
        queue entry's id."""
        entry_id = self.find_entry(conversation_id)
        self.call("POST", f"/api/entries/{entry_id}/claim")
        self.call("POST", f"/api/entries/{entry_id}/reply", {"text": REPLY})
        if action == "resolve":
            self.call(
                "POST",
                f"/api/entries/{entry_id}/resolve",
                {"resolution_code": "information_given"},
            )
        else:
            self.call("POST", f"/api/entries/{entry_id}/hand-back")
        return entry_id

    def judge(self, entry_id: str, could_have_handled: bool) -> bool:
        """Gives the verdict on a resolved escalation once its outcome record exists
        (the outcome writer may be a moment behind); returns whether it was recorded."""
        deadline = time.monotonic() + QUEUE_SECONDS
        body = {"could_have_handled": could_have_handled, "note": "demo traffic"}
        while time.monotonic() < deadline:
            response = requests.post(
                f"{self.url}/api/entries/{entry_id}/verdict",
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
            )
            if response.status_code == 200:
                return True
            if response.status_code != 409:
                raise DemoError(f"verdict on {entry_id}: {response.status_code} {response.text}")
            time.sleep(POLL_SECONDS)
        return False

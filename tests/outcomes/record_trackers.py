"""Records the real Rasa event sequences the outcome tests fold (``trackers/*.json``).

    .venv/bin/python -m tests.outcomes.record_trackers

Starts the sandbox, the action server and the Rasa server with the trained model,
holds a few scripted conversations over the REST channel (a person answers the
handed-off ones through :class:`~frontline.handoff.desk.DeskService`, as the desk
does), and writes each conversation's tracker events, exactly as Rasa stored them, to
``tests/outcomes/trackers/<name>.json``. Run it again after a change of the dialogue
that the outcome tests should see; the tests only read the files.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import requests

from frontline.connectors.rasa import RasaClient
from frontline.handoff.desk import Actor, DeskService
from frontline.handoff.queue import create
from scripts.demo_traffic.plan import SCRIPTS as DEMO_SCRIPTS
from tests.support.processes import (
    REPO_ROOT,
    action_server_process,
    rasa_server_process,
    sandbox_process,
)

OUT = Path(__file__).resolve().parent / "trackers"
TOKEN = "record-" + uuid.uuid4().hex
AGENT = Actor("ana", "supervisor", "Ana")

#: The demo traffic's conversations (one list for both).
SCRIPTS = DEMO_SCRIPTS


def say(rasa_url: str, sender: str, text: str) -> list[dict[str, Any]]:
    response = requests.post(
        f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
    )
    response.raise_for_status()
    return response.json()


def tracker_events(rasa_url: str, sender: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{rasa_url}/conversations/{sender}/tracker", params={"token": TOKEN}, timeout=30
    )
    response.raise_for_status()
    return response.json()["events"]


async def desk_acts(service: DeskService, sender: str, action: str) -> dict[str, Any]:
    [entry] = await service._run(service.queue.find_by_conversation, sender)
    await service.claim(AGENT, entry.entry_id)
    await service.reply(AGENT, entry.entry_id, "Hi, Ana here. Your order is on its way.")
    if action == "resolve":
        resolved = await service.resolve(
            AGENT, entry.entry_id, "information_given", hand_back=False
        )
    else:
        resolved = await service.resolve(AGENT, entry.entry_id, "handed_back", hand_back=True)
    await service.rasa.close()  # its session belongs to this event loop
    return {
        "entry_id": resolved.entry_id,
        "handoff_id": resolved.handoff_id,
        "reason": (resolved.packet.get("reason") or {}).get("code"),
        "enqueued_at": resolved.enqueued_at.isoformat(),
        "first_claimed_at": resolved.first_claimed_at.isoformat()
        if resolved.first_claimed_at
        else None,
        "resolved_at": resolved.resolved_at.isoformat() if resolved.resolved_at else None,
        "resolution_code": resolved.resolution_code,
        "claimed_by": resolved.claimed_by,
    }


def main() -> int:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        database = f"sqlite:///{folder / 'frontline.db'}"
        env = {
            "TRACKER_STORE_URL": f"sqlite:///{folder / 'tracker.db'}",
            "FRONTLINE_DATABASE_URL": database,
            "REDIS_URL": "",
            "RASA_TELEMETRY_ENABLED": "false",
            "FRONTLINE_AS_OF": "2026-11-01T12:00:00Z",
            "SLACK_BOT_TOKEN": "",
            "SLACK_SIGNING_SECRET": "",
            "SLACK_CHANNEL": "",
        }
        sandbox = sandbox_process(f"sqlite:///{folder / 'sandbox.db'}", folder).start()
        env["SANDBOX_URL"] = sandbox.url
        actions = action_server_process(folder, env).start()
        rasa = rasa_server_process(
            REPO_ROOT / "models" / "frontline.tar.gz",
            folder,
            env | {"ACTION_ENDPOINT_URL": f"{actions.url}/webhook"},
            TOKEN,
        ).start()
        queue = create({"type": "sql", "url": database, "queue_name": "default"})
        service = DeskService(queue, RasaClient(rasa.url, TOKEN, 30))
        try:
            for name, steps in SCRIPTS.items():
                sender = f"rec-{name}"
                handoff = None
                for kind, argument in steps:
                    if kind == "say":
                        say(rasa.url, sender, argument)
                    elif kind == "desk":
                        handoff = asyncio.run(desk_acts(service, sender, argument))
                    elif kind == "faults":
                        faults = f"{sandbox.url}/admin/faults"
                        requests.put(faults, json=argument, timeout=10).raise_for_status()
                    else:
                        faults = f"{sandbox.url}/admin/faults"
                        requests.delete(faults, timeout=10).raise_for_status()
                document = {
                    "conversation_id": sender,
                    "events": tracker_events(rasa.url, sender),
                    "handoff": handoff,
                }
                path = OUT / f"{name}.json"
                path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
                print(f"wrote {path.relative_to(REPO_ROOT)} ({len(document['events'])} events)")
        finally:
            queue.close()
            for process in (rasa, actions, sandbox):
                process.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

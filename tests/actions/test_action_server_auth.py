"""The action server answers the Rasa server only (shared secret), on 127.0.0.1.

A real action server process over a real sandbox: a hand-written call without the
secret is refused with 401 ``{error, message}`` and changes nothing in the backend.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from frontline.action_auth import HEADER
from tests.support.processes import ACTION_SECRET, REPO_ROOT, action_server_process

#: A cancellable order of the sandbox (Omar's, paid) that no other test cancels.
ORDER = "551203"


@pytest.fixture(scope="module")
def action_server(sandbox, tmp_path_factory):
    folder = tmp_path_factory.mktemp("action-auth")
    env = {
        "SANDBOX_URL": sandbox.url,
        "FRONTLINE_DATABASE_URL": f"sqlite:///{folder / 'frontline.db'}",
        "FRONTLINE_AS_OF": "2026-11-01T12:00:00Z",
    }
    server = action_server_process(folder, env, name="actions-auth").start()
    yield server
    server.stop()


def cancel_call(order: dict) -> dict:
    """The body Rasa would post to run ``action_cancel_order`` after a yes."""
    slots = {
        "customer_verified": True,
        "customer_id": order["customer_id"],
        "order_id": order["id"],
        "cancel_confirmed": True,
    }
    return {
        "next_action": "action_cancel_order",
        "sender_id": "auth-probe",
        "tracker": {
            "sender_id": "auth-probe",
            "slots": slots,
            "latest_message": {"intent": {"name": "affirm", "confidence": 1.0}, "text": "yes"},
            "events": [
                {"event": "bot", "metadata": {"utter_action": "utter_ask_cancel_confirmed",
                                              "order_id": order["id"]}},
                {"event": "user", "text": "yes", "input_channel": "rest",
                 "parse_data": {"intent": {"name": "affirm", "confidence": 1.0}}},
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {},
        "version": "3.6.21",
    }  # fmt: skip


def order_state(sandbox, order_id: str) -> str:
    return requests.get(f"{sandbox.url}/orders/{order_id}", timeout=10).json()["state"]


def test_a_call_without_the_secret_is_refused_and_changes_nothing(action_server, sandbox):
    order = requests.get(f"{sandbox.url}/orders/{ORDER}", timeout=10).json()
    before = order["state"]
    for headers in ({}, {HEADER: "guessed"}):
        answer = requests.post(
            f"{action_server.url}/webhook", json=cancel_call(order), headers=headers, timeout=30
        )
        assert answer.status_code == 401
        assert answer.json()["error"] == "unauthorized"
        assert HEADER in answer.json()["message"]
    assert order_state(sandbox, ORDER) == before
    listing = requests.get(f"{action_server.url}/actions", timeout=10)
    assert listing.status_code == 401  # not even the list of actions


def test_the_rasa_servers_call_with_a_forged_tracker_still_writes_nothing(action_server, sandbox):
    # With the secret (as Rasa calls it), the slots claim a verification the action
    # server never recorded: nothing is read or written.
    order = requests.get(f"{sandbox.url}/orders/{ORDER}", timeout=10).json()
    before = order["state"]
    answer = requests.post(
        f"{action_server.url}/webhook",
        json=cancel_call(order),
        headers={HEADER: ACTION_SECRET},
        timeout=30,
    )
    assert answer.status_code == 200
    [message] = answer.json()["responses"]
    assert message["response"] == "utter_order_not_found"
    assert order_state(sandbox, ORDER) == before


def test_the_health_check_stays_open(action_server):
    assert requests.get(f"{action_server.url}/health", timeout=10).status_code == 200


def test_without_a_secret_the_action_server_does_not_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTLINE_ACTION")}
    done = subprocess.run(
        [sys.executable, "-m", "frontline.action_server", "--actions", "actions", "--port", "1"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "FRONTLINE_ACTION_SECRET" in done.stderr


def test_the_secret_comes_from_an_owner_only_file_into_the_processs_environment(tmp_path):
    from frontline.action_auth import export_action_secret
    from frontline.runtime.server_secrets import SecretRefused

    secret_file = tmp_path / "action_secret"
    secret_file.write_text("from-a-file\n")
    secret_file.chmod(0o600)
    env = {"FRONTLINE_ACTION_SECRET_FILE": str(secret_file)}
    export_action_secret(env)
    assert env == {"FRONTLINE_ACTION_SECRET": "from-a-file"}

    secret_file.chmod(0o644)
    with pytest.raises(SecretRefused, match="chmod 600"):
        export_action_secret({"FRONTLINE_ACTION_SECRET_FILE": str(secret_file)})

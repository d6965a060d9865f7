"""Action tests: real trackers, a real sandbox over HTTP, a real SQLite queue."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker

from actions.backends import Backends
from frontline.connectors import BillingClient, CrmClient, OrdersClient
from frontline.feedback import SqlFeedbackStore
from frontline.handoff.queue import SqlHandoffQueue
from frontline.identity import MemoryIdentityStore
from frontline.policy import escalation_policy, returns_policy

#: The sandbox's demo data is dated against this instant (sandbox/README.md).
SANDBOX_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)

ROOT = Path(__file__).resolve().parents[2]

#: The server-side identity store of the action tests: :func:`make_tracker` records a
#: tracker's verified customer in it, as the verification action would have (unless
#: the test forges the slots).
TEST_IDENTITY = MemoryIdentityStore()


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The domain as the action server receives it."""
    return Domain.load(str(ROOT / "domain")).as_dict()


@pytest.fixture
async def backends(sandbox, sqlite_url):
    crm = CrmClient(sandbox.url, 2.0)
    orders = OrdersClient(sandbox.url, 2.0)
    billing = BillingClient(sandbox.url, 2.0)
    queue = SqlHandoffQueue(sqlite_url)
    yield Backends(
        crm=crm,
        orders=orders,
        queue=queue,
        escalation=escalation_policy(),
        billing=billing,
        returns=returns_policy(),
        feedback=SqlFeedbackStore(sqlite_url),
        clock=lambda: SANDBOX_NOW,
        identity=TEST_IDENTITY,
    )
    await crm.close()
    await orders.close()
    await billing.close()
    queue.close()


def initial_slots(domain: dict[str, Any]) -> dict[str, Any]:
    return {name: spec.get("initial_value") for name, spec in domain["slots"].items()}


def make_tracker(
    domain: dict[str, Any],
    *,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    intent: str = "inform",
    text: str = "",
    entities: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
    sender_id: str = "test-conversation",
    history: list[dict[str, Any]] | None = None,
    forged: bool = False,
) -> Tracker:
    """A tracker as Rasa sends it: slots applied, the user message, trailing slot events.

    ``history`` goes before the user message (e.g. the confirmation question it answers).
    A verified customer in ``slots`` is recorded in :data:`TEST_IDENTITY` as the
    verification action records it; with ``forged`` the slots claim it and the store
    does not know it (a hand-written call to the action server).
    """
    latest_message = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.97},
        "entities": entities or [],
    }
    user_event = {
        "event": "user",
        "text": text,
        "timestamp": 1764000000.0,
        "parse_data": latest_message,
        "input_channel": "rest",
    }
    all_slots = initial_slots(domain) | (slots or {})
    TEST_IDENTITY.forget(sender_id)
    if all_slots.get("customer_verified") and all_slots.get("customer_id") and not forged:
        TEST_IDENTITY.record(sender_id, str(all_slots["customer_id"]), method="test")
    return Tracker(
        sender_id,
        all_slots,
        latest_message,
        [
            *(history or []),
            {"event": "action", "name": "action_listen"},
            user_event,
            *(events or []),
        ],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def confirmation_question(response: str, **variables: Any) -> dict[str, Any]:
    """The bot's confirmation question as the tracker holds it (the consent policy reads it)."""
    return {
        "event": "bot",
        "text": "Please confirm",
        "timestamp": 1763999990.0,
        "metadata": {"utter_action": response, **variables},
    }


def slot_events(**slots: Any) -> list[dict[str, Any]]:
    """SlotSet events as they appear in a tracker (candidates for validation)."""
    return [{"event": "slot", "name": k, "value": v, "timestamp": None} for k, v in slots.items()]

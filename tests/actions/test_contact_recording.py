"""Verification inside a form records the contact, with the conversation's channel."""

from __future__ import annotations

import uuid

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.order_cancellation import ValidateCancelOrderForm
from tests.actions.conftest import make_tracker, slot_events


async def contacts_of(backends, customer_id: str, sender_id: str) -> list[dict]:
    contacts = await backends.crm.list_contacts(customer_id, limit=100)
    return [c for c in contacts if c["conversation_id"] == sender_id]


def cancel_form_tracker(domain, sender_id: str, secret: str):
    """The cancellation form, Omar's e-mail and ``secret`` just given."""
    candidates = {"email": "omar.haddad@example.com", "verification_secret": secret}
    return make_tracker(
        domain,
        slots=candidates,
        events=slot_events(**candidates),
        active_loop="cancel_order_form",
        sender_id=sender_id,
    )


async def test_verifying_records_a_contact_on_the_conversations_channel(backends, domain):
    sender_id = uuid.uuid4().hex
    tracker = cancel_form_tracker(domain, sender_id, "10001")

    events = await ValidateCancelOrderForm(backends).run(CollectingDispatcher(), tracker, domain)

    assert events == [
        SlotSet("email", "omar.haddad@example.com"),
        SlotSet("verification_secret", "10001"),
        SlotSet("customer_verified", True),
        SlotSet("customer_id", "C1002"),
        SlotSet("customer_first_name", "Omar"),
        SlotSet("requested_slot", "order_id"),
    ]  # recording the contact adds no events
    [contact] = await contacts_of(backends, "C1002", sender_id)
    assert contact["channel"] == "rest"  # the user event's input channel
    assert contact["topic"] == "order cancellation"
    assert contact["started_at"] == "2025-11-24T16:00:00Z"  # the conversation's first event

    # The same verification again (a redelivered message) records nothing new.
    await ValidateCancelOrderForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert len(await contacts_of(backends, "C1002", sender_id)) == 1


async def test_a_failed_verification_records_no_contact(backends, domain):
    sender_id = uuid.uuid4().hex
    tracker = cancel_form_tracker(domain, sender_id, "94107")

    events = await ValidateCancelOrderForm(backends).run(CollectingDispatcher(), tracker, domain)

    assert SlotSet("verification_attempts", 1.0) in events
    assert await contacts_of(backends, "C1002", sender_id) == []

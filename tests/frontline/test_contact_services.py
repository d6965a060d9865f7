"""Contacts across channels, without Rasa, against the real sandbox CRM.

Every test uses conversation ids of its own, so tests sharing the session's sandbox
never see each other's contacts.
"""

from __future__ import annotations

import uuid

import pytest

from frontline.connectors import CrmClient
from frontline.handoff.queue import SqlHandoffQueue
from frontline.policy import escalation_policy
from frontline.services.contacts import (
    ContactContext,
    channel_name,
    contact_key,
    recent_contacts,
    record_contact,
    session_started_at,
    topic_of_form,
)
from frontline.services.handoff import hand_off
from frontline.services.verification import VerificationStatus, verify_identity

T0 = 1764000000.0  # 2025-11-24T16:00:00Z


@pytest.fixture
async def crm(sandbox):
    client = CrmClient(sandbox.url, 2.0)
    yield client
    await client.close()


@pytest.fixture
async def unreachable_crm():
    client = CrmClient("http://127.0.0.1:1", 0.5)
    yield client
    await client.close()


def conversation_id() -> str:
    return uuid.uuid4().hex


async def contacts_of(crm: CrmClient, customer_id: str, conversation: str) -> list[dict]:
    return [
        contact
        for contact in await crm.list_contacts(customer_id, limit=100)
        if contact["conversation_id"] == conversation
    ]


# -- pure helpers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "name"),
    [
        ("socketio", "socketio"),
        ("Slack", "slack"),
        ("my channel!", "my-channel"),
        (None, "unknown"),
        ("", "unknown"),
        ("42", "unknown"),
        ("x" * 40, "x" * 32),
    ],
)
def test_channel_names_fit_the_crm(channel, name) -> None:
    assert channel_name(channel) == name


def test_topics_come_from_the_form() -> None:
    assert topic_of_form("cancel_order_form") == "order cancellation"
    assert topic_of_form("order_status_form") == "order status"
    assert topic_of_form("change_address_form") == "change address"
    assert topic_of_form(None) is None


def test_the_session_starts_at_the_latest_session_started_event() -> None:
    events = [
        {"event": "action", "name": "action_session_start", "timestamp": T0},
        {"event": "session_started", "timestamp": T0 + 1},
        {"event": "user", "timestamp": T0 + 2},
        {"event": "session_started", "timestamp": T0 + 3600},
        {"event": "user", "timestamp": T0 + 3601},
    ]
    assert session_started_at(events) == T0 + 3600
    assert session_started_at(events[2:3]) == T0 + 2  # no session start: the first event
    assert session_started_at([{"event": "user", "timestamp": None}]) is None


def test_the_key_is_one_per_customer_and_session() -> None:
    context = ContactContext("slack", "U0JANEDOE1", T0, "order status")
    assert contact_key("C1001", context) == contact_key("C1001", context)
    assert contact_key("C1001", context) != contact_key("C1002", context)
    later = ContactContext("slack", "U0JANEDOE1", T0 + 7200, "order status")
    assert contact_key("C1001", context) != contact_key("C1001", later)


# -- against the CRM -------------------------------------------------------------------


async def test_a_contact_is_recorded_once_per_session(crm) -> None:
    conversation = conversation_id()
    context = ContactContext("socketio", conversation, T0, "order status")

    first = await record_contact(crm, "C1011", context)
    again = await record_contact(crm, "C1011", context)  # a retried verification

    assert first is not None and again == first
    assert first["channel"] == "socketio" and first["topic"] == "order status"
    assert first["started_at"] == "2025-11-24T16:00:00Z"
    assert len(await contacts_of(crm, "C1011", conversation)) == 1

    await record_contact(crm, "C1011", ContactContext("socketio", conversation, T0 + 7200))
    assert len(await contacts_of(crm, "C1011", conversation)) == 2  # a new session


async def test_recent_contacts_span_every_channel_newest_first(crm) -> None:
    web, slack = conversation_id(), f"U{uuid.uuid4().hex[:9].upper()}"
    now = 1893456000.0  # 2030: newer than anything other tests record
    await record_contact(crm, "C1012", ContactContext("socketio", web, now))
    await record_contact(crm, "C1012", ContactContext("slack", slack, now + 60))

    contacts = await recent_contacts(crm, "C1012", limit=2)
    assert [(c["channel"], c["conversation_id"]) for c in contacts] == [
        ("slack", slack),
        ("socketio", web),
    ]


async def test_a_crm_that_cannot_answer_costs_only_the_history(unreachable_crm) -> None:
    context = ContactContext("slack", "U0JANEDOE1", T0)
    assert await record_contact(unreachable_crm, "C1001", context) is None
    assert await recent_contacts(unreachable_crm, "C1001") == []


async def test_verification_records_the_contact_of_a_verified_customer(crm) -> None:
    conversation = conversation_id()
    context = ContactContext("slack", conversation, T0, "order cancellation")

    result = await verify_identity(
        crm, "li.wei@example.net", "60614", previous_attempts=0, max_attempts=3, contact=context
    )

    assert result.status is VerificationStatus.VERIFIED
    [contact] = await contacts_of(crm, "C1003", conversation)
    assert contact["channel"] == "slack" and contact["topic"] == "order cancellation"


async def test_a_failed_verification_records_nothing(crm) -> None:
    conversation = conversation_id()
    context = ContactContext("slack", conversation, T0)

    result = await verify_identity(
        crm, "li.wei@example.net", "10001", previous_attempts=0, max_attempts=3, contact=context
    )

    assert result.status is VerificationStatus.MISMATCH
    assert await contacts_of(crm, "C1003", conversation) == []


async def test_the_packet_lists_the_customers_contacts_on_every_channel(crm, sqlite_url) -> None:
    slack_conversation, web_conversation = f"U{uuid.uuid4().hex[:9].upper()}", conversation_id()
    now = 1924992000.0  # 2031: the newest contacts of this customer
    await record_contact(crm, "C1013", ContactContext("socketio", web_conversation, now))
    await record_contact(crm, "C1013", ContactContext("slack", slack_conversation, now + 60))
    state = {
        "sender_id": slack_conversation,
        "slots": {"customer_verified": True, "customer_id": "C1013"},
        "latest_message": {"intent": {"name": "request_human", "confidence": 0.99}},
        "latest_input_channel": "slack",
        "events": [
            {"event": "user", "text": "a person please", "timestamp": now + 61},
        ],
    }
    queue = SqlHandoffQueue(sqlite_url)
    try:
        result = await hand_off(state, crm=crm, queue=queue, policy=escalation_policy())
        [entry] = queue.find_by_conversation(slack_conversation)
    finally:
        queue.close()

    packet = entry.packet
    assert result.reason_code == "customer_request"
    assert packet["schema_version"] == "1.1" and packet["channel"] == "slack"
    assert packet["customer"]["customer_id"] == "C1013"
    assert [
        (c["channel"], c["conversation_id"], c["current"]) for c in packet["recent_contacts"][:2]
    ] == [("slack", slack_conversation, True), ("socketio", web_conversation, False)]

"""The CRM's contact history, over real HTTP, on SQLite and on PostgreSQL.

Each test records its contacts on a channel name of its own, so tests sharing a
server never see each other's contacts.
"""

from __future__ import annotations

import uuid

import pytest


def _key() -> str:
    return f"test-{uuid.uuid4()}"


def _channel() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def _record(api, customer_id: str, key: str | None = None, **body):
    headers = {"Idempotency-Key": key or _key()}
    return api.post(f"/crm/customers/{customer_id}/contacts", json=body, headers=headers)


def _contacts(api, customer_id: str, **params) -> list[dict]:
    response = api.get(f"/crm/customers/{customer_id}/contacts", params=params)
    assert response.status_code == 200, response.text
    return response.json()["contacts"]


def _assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == code


def test_a_recorded_contact_is_listed_newest_first(api) -> None:
    channel = _channel()
    first = _record(
        api,
        "C1004",
        channel=channel,
        conversation_id="conv-a",
        topic="order status",
        started_at="2026-11-02T09:00:00Z",
    )
    assert first.status_code == 201, first.text
    contact = first.json()["contact"]
    assert contact["customer_id"] == "C1004"
    assert contact["channel"] == channel
    assert contact["conversation_id"] == "conv-a"
    assert contact["topic"] == "order status"
    assert contact["started_at"] == "2026-11-02T09:00:00Z"
    assert len(contact["id"]) == 32 and contact["created_at"].endswith("Z")

    second = _record(
        api,
        "C1004",
        channel=channel,
        conversation_id="conv-b",
        started_at="2026-11-03T10:30:00+02:00",
    )
    assert second.json()["contact"]["started_at"] == "2026-11-03T08:30:00Z"
    assert second.json()["contact"]["topic"] is None

    listed = _contacts(api, "C1004", channel=channel)
    assert [c["conversation_id"] for c in listed] == ["conv-b", "conv-a"]
    assert listed[1] == contact
    assert [c["conversation_id"] for c in _contacts(api, "C1004", channel=channel, limit=1)] == [
        "conv-b"
    ]


def test_contacts_of_every_channel_are_listed_without_a_filter(api) -> None:
    web, slack = _channel(), _channel()
    _record(api, "C1005", channel=web, conversation_id="w1", started_at="2026-11-05T08:00:00Z")
    _record(api, "C1005", channel=slack, conversation_id="s1", started_at="2026-11-05T09:00:00Z")
    channels = [c["channel"] for c in _contacts(api, "C1005", limit=100)]
    assert channels.index(slack) < channels.index(web)  # newest first


def test_started_at_defaults_to_now(api) -> None:
    response = _record(api, "C1006", channel=_channel(), conversation_id="c")
    contact = response.json()["contact"]
    assert contact["started_at"] == contact["created_at"]


def test_a_replayed_key_records_once(api) -> None:
    channel, key = _channel(), _key()
    body = {"channel": channel, "conversation_id": "conv-r", "topic": "order cancellation"}
    first = _record(api, "C1007", key, **body)
    replay = _record(api, "C1007", key, **body)
    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert len(_contacts(api, "C1007", channel=channel)) == 1

    reused = _record(api, "C1007", key, **(body | {"conversation_id": "other"}))
    _assert_error(reused, 422, "idempotency_key_reused")
    assert len(_contacts(api, "C1007", channel=channel)) == 1


def test_a_customer_without_contacts_has_an_empty_history(api) -> None:
    assert _contacts(api, "C1008", channel=_channel()) == []


def test_an_unknown_customer_is_404(api) -> None:
    _assert_error(
        _record(api, "C9999", channel="slack", conversation_id="c"), 404, "customer_not_found"
    )
    _assert_error(api.get("/crm/customers/C9999/contacts"), 404, "customer_not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"conversation_id": "c"},
        {"channel": "slack"},
        {"channel": "Web Chat", "conversation_id": "c"},
        {"channel": "slack", "conversation_id": "c" * 256},
        {"channel": "slack", "conversation_id": "c", "topic": "t" * 101},
        {"channel": "slack", "conversation_id": "c", "started_at": "yesterday"},
        {"channel": "slack", "conversation_id": "c", "started_at": "2026-11-02T09:00:00"},
    ],
)
def test_an_invalid_contact_is_refused(api, body) -> None:
    _assert_error(_record(api, "C1009", **body), 400, "invalid_request")


def test_recording_needs_an_idempotency_key(api) -> None:
    response = api.post(
        "/crm/customers/C1009/contacts", json={"channel": "slack", "conversation_id": "c"}
    )
    _assert_error(response, 400, "idempotency_key_required")


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_an_invalid_limit_is_refused(api, limit) -> None:
    response = api.get("/crm/customers/C1001/contacts", params={"limit": limit})
    _assert_error(response, 400, "invalid_request")


def test_a_reset_forgets_the_contacts(fresh_api) -> None:
    channel = _channel()
    _record(fresh_api, "C1010", channel=channel, conversation_id="c")
    assert len(_contacts(fresh_api, "C1010", channel=channel)) == 1
    fresh_api.post("/admin/reset", timeout=60).raise_for_status()
    assert _contacts(fresh_api, "C1010", channel=channel) == []


def test_contacts_are_erased_by_conversation_or_customer(api) -> None:
    channel = _channel()
    for conversation in ("conv-erase-1", "conv-erase-2"):
        _record(api, "C1005", channel=channel, conversation_id=f"{channel}-{conversation}")

    one = api.delete("/crm/contacts", params={"conversation_id": f"{channel}-conv-erase-1"})
    assert one.status_code == 200 and one.json() == {"deleted": 1}
    left = [c["conversation_id"] for c in _contacts(api, "C1005", channel=channel)]
    assert left == [f"{channel}-conv-erase-2"]

    everything = api.delete("/crm/contacts", params={"customer_id": "C1005"})
    assert everything.json()["deleted"] >= 1
    assert _contacts(api, "C1005", channel=channel) == []
    _assert_error(api.delete("/crm/contacts"), 400, "invalid_request")

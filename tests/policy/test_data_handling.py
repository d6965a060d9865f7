"""The data-handling policy decides what is masked where: logs, packets, audit, exports."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from frontline.audit import AuditStore, NewRecord
from frontline.handoff.packet import build_packet
from frontline.masking import MaskingFilter, mask_mapping, mask_value
from frontline.policy.registry import load_policies, policies
from frontline.settings import get_settings
from tests.policy.conftest import POLICIES, edit_policy

HANDLING = load_policies(POLICIES).data_handling
JANE = {
    "id": "C1001",
    "name": "Jane Doe",
    "email": "jane.doe@example.com",
    "phone": "+1 415 555 0134",
    "tier": "gold",
}


@pytest.mark.parametrize(
    ("place", "key", "value", "expected"),
    [
        ("audit", "email", "jane.doe@example.com", "j***@example.com"),
        ("exports", "email", "jane.doe@example.com", None),
        ("audit", "verification_secret", "94107", "941**"),
        ("audit", "customer_id", "C1001", "C1001"),
        ("exports", "customer_id", "C1001", "sha256:5df2416ba2a73dbe"),
        ("audit", "text", "mail me at jane.doe@example.com", "mail me at j***@example.com"),
        ("audit", "shipping_address", "221B Baker Street", "[redacted]"),
        ("audit", "order_id", "482914", "482914"),
        ("audit", "intent", "greet", "greet"),  # not personal: untouched
    ],
)
def test_each_place_treats_each_field_as_the_policy_says(place, key, value, expected):
    assert mask_value(place, key, value, HANDLING) == expected


def test_nested_records_and_entity_lists_are_treated():
    record = {
        "slots": {"email": "jane.doe@example.com", "order_id": "482914"},
        "entities": [
            {"entity": "zip_code", "value": "94107"},
            {"entity": "order_id", "value": "1"},
        ],
    }
    assert mask_mapping("audit", record, HANDLING) == {
        "slots": {"email": "j***@example.com", "order_id": "482914"},
        "entities": [
            {"entity": "zip_code", "value": "941**"},
            {"entity": "order_id", "value": "1"},
        ],
    }


def test_the_log_filter_masks_messages():
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "customer %s called from %s",
        ("a@b.example", "415 555 0134"),
        None,
    )
    assert MaskingFilter(HANDLING).filter(record)
    assert record.getMessage() == "customer a***@b.example called from ***-***-**34"


def test_keeping_free_text_in_logs_leaves_log_lines_alone(policies_copy):
    edit_policy(
        policies_copy,
        "data_handling",
        lambda d: d["rules"]["fields"]["free_text"]["places"].update(logs="keep"),
    )
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "from a@b.example", None, None)
    MaskingFilter(load_policies(policies_copy).data_handling).filter(record)
    assert record.getMessage() == "from a@b.example"


def test_masking_another_field_in_the_audit_trail_is_a_policy_change(
    policies_copy, sqlite_url, unique_name
):
    payload = {"action": "action_cancel_order", "order_id": "482914"}
    AuditStore(sqlite_url, unique_name, data_handling=HANDLING).append([NewRecord("d", payload)])
    edit_policy(
        policies_copy,
        "data_handling",
        lambda d: d["rules"]["fields"]["order_id"]["places"].update(audit="mask"),
    )
    changed = AuditStore(
        sqlite_url, unique_name, data_handling=load_policies(policies_copy).data_handling
    )
    changed.append([NewRecord("d", payload)])
    assert [r.payload["order_id"] for r in changed.records()] == ["482914", "****14"]
    assert changed.verify().ok


def test_dropping_the_phone_from_packets_is_a_policy_change(policies_copy, monkeypatch):
    conversation = {"sender_id": "dh-1", "events": [], "slots": {}, "latest_message": {}}
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    arguments = dict(reason_code="customer_request", rationale="asked", priority="normal", now=now)
    assert build_packet(conversation, customer=JANE, **arguments)["customer"]["phone"] == (
        "***-***-**34"
    )
    edit_policy(
        policies_copy,
        "data_handling",
        lambda d: d["rules"]["fields"]["phone"]["places"].update(packets="drop"),
    )
    monkeypatch.setenv("FRONTLINE_POLICIES_DIR", str(policies_copy))
    get_settings.cache_clear()
    policies.cache_clear()
    try:
        packet = build_packet(conversation, customer=JANE, **arguments)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        policies.cache_clear()
    assert packet["customer"]["phone"] is None
    assert packet["customer"]["email"] == "j***@example.com"

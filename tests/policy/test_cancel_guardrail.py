"""The guardrail in the cancellation: real tracker events, a real sandbox, exact events."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
import requests
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandoff
from actions.order_cancellation import ActionCancelOrder
from frontline.audit import AuditStore
from frontline.policy.registry import load_policies
from tests.actions.conftest import confirmation_question, make_tracker
from tests.policy.conftest import edit_policy
from tests.support.sandbox_orders import sandbox_get, take_cancellable_order

QUESTION = "utter_ask_cancel_confirmed"
_taken: set[str] = set()


@pytest.fixture
def fresh_order(sandbox) -> Iterator[dict]:
    """A cancellable order under $250 of a generated customer no other test uses."""
    yield take_cancellable_order(sandbox, range(1064, 1003, -1), _taken)


@pytest.fixture
def audited(backends, sqlite_url, unique_name):
    """The action backends with an audit trail."""
    return dataclasses.replace(backends, audit=AuditStore(sqlite_url, unique_name))


def confirmed_tracker(domain, order: dict, *, asked_about: str | None = None, sender: str = "g-1"):
    slots = {
        "customer_verified": True,
        "customer_id": order["customer_id"],
        "order_id": order["id"],
        "cancel_confirmed": True,
    }
    return make_tracker(
        domain,
        slots=slots,
        intent="affirm",
        text="yes",
        sender_id=sender,
        history=[confirmation_question(QUESTION, order_id=asked_about or order["id"])],
    )


async def test_a_confirmed_cancellation_is_written_and_audited(
    audited, domain, sandbox, fresh_order
):
    tracker = confirmed_tracker(domain, fresh_order, sender="g-ok")
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOrder(audited).run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_order_cancelled"
    assert sandbox_get(sandbox, f"/orders/{fresh_order['id']}")["state"] == "cancelled"
    entry = events[1]["value"][-1]
    assert entry["result"] == "cancelled" and entry["idempotency_key"].startswith("cancel-order-")
    [record] = audited.audit.records("g-ok", kind="write")
    assert record.payload["decision"]["allowed"] is True
    assert record.payload["idempotency_key"] == entry["idempotency_key"]
    assert record.payload["consent"]["subject"] == fresh_order["id"]
    assert [c["check"] for c in record.payload["decision"]["checks"]][-1] == "money_limit"
    assert audited.audit.verify().ok


async def test_a_lower_limit_in_the_policy_file_escalates_instead(
    audited, domain, sandbox, fresh_order, policies_copy
):
    edit_policy(
        policies_copy,
        "escalation",
        lambda d: d["rules"]["writes"]["cancel_order"]["money_limit"].update(amount="10.00"),
    )
    strict = dataclasses.replace(audited, rules=load_policies(policies_copy))
    tracker = confirmed_tracker(domain, fresh_order, sender="g-limit")
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOrder(strict).run(dispatcher, tracker, domain)

    rule_id = "escalation.writes.cancel_order.money_limit"
    assert [m["response"] for m in dispatcher.messages] == ["utter_write_needs_human"]
    assert events[0] == SlotSet("cancel_confirmed", None)
    log = events[1]["value"]
    assert log[-1] | {"at": None} == {
        "action": "cancel_order",
        "result": "needs_human",
        "detail": fresh_order["id"],
        "at": None,
        "rule_id": rule_id,
    }
    rule = events[3]["value"]
    assert events[2:] == [
        SlotSet("handoff_reason", "policy"),
        SlotSet("escalation_rule", rule),
        FollowupAction("action_handoff"),
    ]
    assert rule["id"] == rule_id and rule["policy"] == "escalation"
    assert "above the $10.00" in rule["rationale"]
    assert sandbox_get(sandbox, f"/orders/{fresh_order['id']}")["state"] == fresh_order["state"]
    [record] = audited.audit.records("g-limit", kind="write")
    assert record.payload["outcome"] == "needs_human"
    assert record.payload["decision"]["rule_id"] == rule_id


async def test_a_yes_to_another_order_is_not_consent(backends, domain, sandbox, fresh_order):
    tracker = confirmed_tracker(domain, fresh_order, asked_about="999999")
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOrder(backends).run(dispatcher, tracker, domain)
    assert events[3]["value"]["id"] == "consent.cancel_order"
    assert "the yes was for 999999" in events[3]["value"]["rationale"]
    assert sandbox_get(sandbox, f"/orders/{fresh_order['id']}")["state"] == fresh_order["state"]


async def test_an_order_cancelled_elsewhere_meanwhile_is_reported_not_escalated(
    backends, domain, sandbox, fresh_order
):
    requests.post(
        f"{sandbox.url}/orders/{fresh_order['id']}/cancel",
        json={"reason": "cancelled by phone"},
        headers={"Idempotency-Key": "elsewhere-1"},
        timeout=10,
    ).raise_for_status()
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOrder(backends).run(
        dispatcher, confirmed_tracker(domain, fresh_order), domain
    )
    assert dispatcher.messages[0]["response"] == "utter_order_already_cancelled"
    assert not any(e.get("event") == "followup" for e in events)


async def test_a_sensitive_topic_handoff_carries_its_rule_support_and_priority(backends, domain):
    rule = {
        "id": "sensitive.self_harm",
        "rationale": "The customer may be at risk; a person must respond now.",
        "policy": "escalation",
        "version": backends.rules.escalation.version,
        "priority": "urgent",
        "response": "utter_sensitive_support",
    }
    tracker = make_tracker(
        domain,
        slots={"handoff_reason": "policy", "escalation_rule": rule},
        intent="out_of_scope",
        text="I want to end my life",
        sender_id="g-handoff",
    )
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(backends).run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_sensitive_support",
        "utter_handoff",
    ]
    assert SlotSet("escalation_rule", None) in events
    assert events[4]["value"][-1]["rule_id"] == "sensitive.self_harm"
    [entry] = backends.queue.find_by_conversation("g-handoff")
    packet = entry.packet
    assert packet["priority"] == "urgent"
    assert packet["reason"] == {
        "code": "policy",
        "rationale": rule["rationale"],
        "rule": {"id": "sensitive.self_harm", "policy": "escalation", "version": rule["version"]},
    }
    assert packet["decisions"][-1]["action"] == "action_handoff"
    assert packet["decisions"][-1]["rules"] == ["sensitive.self_harm"]
    assert packet["decisions"][-1]["intent"]["name"] == "out_of_scope"
    assert "end my life" not in json.dumps(packet["decisions"])  # text stays out of decisions

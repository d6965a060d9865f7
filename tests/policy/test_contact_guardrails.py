"""The guardrail before the contact flows' writes: refunds, password resets, account changes."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest
import requests
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.returns import ActionProcessReturn
from frontline.audit import AuditStore
from frontline.connectors import CrmClient, OrdersClient
from frontline.policy.registry import load_policies
from frontline.policy.returns import returns_policy
from frontline.services.account_changes import ChangeOutcome, apply_change
from frontline.services.password_reset import ResetOutcome, send_reset_link
from frontline.services.returns import (
    ReturnDecision,
    ReturnOutcome,
    assess_return,
    process_return,
)
from tests.actions.conftest import make_tracker
from tests.policy.conftest import edit_policy
from tests.support.consent import consent_events, consented

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)  # the sandbox's "today"
RULE = "escalation.writes.return_order.money_limit"


def sandbox_get(sandbox, path: str) -> dict:
    response = requests.get(f"{sandbox.url}{path}", timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def returnable(sandbox) -> dict:
    """A delivered order the returns policy lets the assistant take on its own."""
    policy = returns_policy()
    for number in range(1064, 1003, -1):
        for order in sandbox_get(sandbox, f"/crm/customers/C{number}/orders")["orders"]:
            if order["state"] == "delivered" and float(order["total"]) > 20:
                if assess_return(order, policy, NOW).decision is ReturnDecision.ELIGIBLE:
                    return order
    pytest.fail("the sandbox has no returnable order")


@pytest.fixture
def lower_refund_limit(policies_copy):
    """The policies with the assistant's refund limit lowered to $20.00."""
    edit_policy(
        policies_copy,
        "escalation",
        lambda d: d["rules"]["writes"]["return_order"]["money_limit"].update(amount="20.00"),
    )
    return load_policies(policies_copy)


async def test_lowering_the_refund_limit_turns_an_automatic_refund_into_an_escalation(
    sandbox, returnable, lower_refund_limit, sqlite_url, unique_name
):
    orders = OrdersClient(sandbox.url, 2.0)
    audit = AuditStore(sqlite_url, unique_name)
    try:
        result = await process_return(
            orders,
            customer_id=returnable["customer_id"],
            order_id=returnable["id"],
            confirmed=True,
            policy=returns_policy(),
            now=NOW,
            idempotency_key="refund-limit-1",
            context=consented(
                "refund-limit", "utter_ask_return_confirmed", order_id=returnable["id"]
            ),
            rules=lower_refund_limit,
            audit=audit,
        )
    finally:
        await orders.close()
    assert result.outcome is ReturnOutcome.NEEDS_HUMAN
    assert result.response == "utter_write_needs_human"
    assert result.check.decision.rule_id == RULE
    assert "above the $20.00" in result.check.decision.rationale
    assert sandbox_get(sandbox, f"/orders/{returnable['id']}")["state"] == "delivered"
    [record] = audit.records("refund-limit", kind="write")
    assert (
        record.payload["decision"]["rule_id"] == RULE and record.payload["outcome"] == "needs_human"
    )


async def test_the_return_action_hands_off_with_the_refusing_rule(
    backends, domain, sandbox, returnable, lower_refund_limit
):
    strict = dataclasses.replace(backends, rules=lower_refund_limit)
    tracker = make_tracker(
        domain,
        slots={
            "customer_verified": True,
            "customer_id": returnable["customer_id"],
            "order_id": returnable["id"],
            "return_confirmed": True,
        },
        intent="affirm",
        history=consent_events("utter_ask_return_confirmed", order_id=returnable["id"]),
    )
    dispatcher = CollectingDispatcher()
    events = await ActionProcessReturn(strict).run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_write_needs_human"]
    assert events[1]["value"][-1]["rule_id"] == RULE
    assert events[2:] == [
        SlotSet("handoff_reason", "policy"),
        SlotSet("escalation_rule", events[3]["value"]),
        FollowupAction("action_handoff"),
    ]
    assert events[3]["value"]["id"] == RULE
    assert sandbox_get(sandbox, f"/orders/{returnable['id']}")["state"] == "delivered"


async def test_no_password_reset_over_a_shared_workspace(sandbox):
    crm = CrmClient(sandbox.url, 2.0)
    yes = consented(
        "reset-slack", "utter_ask_reset_confirmed", slots={"customer_id": "C1031"}, channel="slack"
    )
    try:
        result = await send_reset_link(
            crm, customer_id="C1031", confirmed=True, idempotency_key="rs-1", context=yes
        )
    finally:
        await crm.close()
    assert result.outcome is ResetOutcome.NEEDS_HUMAN
    assert result.check.decision.rule_id == "scope.shared_workspace_account_changes"


async def test_an_account_change_needs_a_yes_to_that_very_value(sandbox):
    crm = CrmClient(sandbox.url, 2.0)
    before = sandbox_get(sandbox, "/crm/customers/C1044")
    other = consented("acc-1", "utter_ask_account_change_confirmed", new_value="+1 512 555 0100")
    try:
        result = await apply_change(
            crm,
            customer_id="C1044",
            account_field="phone",
            new_value="+1 512 555 0111",
            confirmed=True,
            idempotency_key="acc-1",
            context=other,
        )
    finally:
        await crm.close()
    assert result.outcome is ChangeOutcome.NEEDS_HUMAN
    assert result.check.decision.rule_id == "consent.change_phone"
    assert sandbox_get(sandbox, "/crm/customers/C1044") == before

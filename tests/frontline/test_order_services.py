"""Order rules, without Rasa, against the real sandbox."""

from __future__ import annotations

import pytest

from frontline.connectors import CrmClient, OrdersClient
from frontline.services.guardrails import WriteContext
from frontline.services.orders import (
    CancellationOutcome,
    LookupStatus,
    cancel_order,
    describe_shipment,
    find_customer_order,
    format_money,
    idempotency_key,
)


@pytest.fixture
async def orders(sandbox):
    client = OrdersClient(sandbox.url, 2.0)
    yield client
    await client.close()


def test_idempotency_key_is_stable_per_conversation_and_order():
    assert idempotency_key("c1", "cancel-order", "482914") == idempotency_key(
        "c1", "cancel-order", "482914"
    )
    assert idempotency_key("c1", "cancel-order", "482914") != idempotency_key(
        "c2", "cancel-order", "482914"
    )


def test_format_money():
    assert format_money("1234.5") == "$1,234.50"


def test_shipped_order_names_carrier_tracking_and_estimate():
    order = {
        "state": "shipped",
        "shipment": {
            "carrier": "UPS",
            "tracking_number": "1Z999",
            "estimated_delivery": "2026-11-03T12:00:00Z",
        },
    }
    assert describe_shipment(order) == (
        "It's with UPS tracking number 1Z999. Estimated delivery: Tue 3 Nov."
    )


async def test_someone_elses_order_is_not_found(orders):
    lookup = await find_customer_order(orders, "C1002", "482913")
    assert lookup.status is LookupStatus.NOT_FOUND and lookup.order is None


async def test_cancel_outcomes(orders, sandbox):
    crm = CrmClient(sandbox.url, 2.0)
    li = WriteContext("c-li", "rest", verified=True)  # no confirmation question in it
    try:
        kept = await cancel_order(
            orders, crm=crm, customer_id="C1003", order_id="630001", confirmed=False,
            idempotency_key="k-kept", context=li,
        )  # fmt: skip
        assert kept.outcome is CancellationOutcome.KEPT and kept.decision is None
        shipped = await cancel_order(
            orders, crm=crm, customer_id="C1003", order_id="630002", confirmed=True,
            idempotency_key="k-ship", context=li,
        )  # fmt: skip
        # Without a yes to the question about this very order, nothing is written.
        assert shipped.outcome is CancellationOutcome.NEEDS_HUMAN
        assert shipped.decision.rule_id == "consent.cancel_order"
        not_theirs = await cancel_order(
            orders, crm=crm, customer_id="C1003", order_id="482914", confirmed=True,
            idempotency_key="k-nt", context=li,
        )  # fmt: skip
        assert not_theirs.outcome is CancellationOutcome.NOT_FOUND
        assert (await orders.get_order("482914"))["state"] == "paid"
    finally:
        await crm.close()

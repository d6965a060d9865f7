"""Order status and cancellation: what to tell the customer, and the write itself.

Whether an order can be cancelled is the order system's decision (its ``cancellable``
flag and its 409 answer); this module never second-guesses it, it only explains.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from frontline.connectors import CrmClient, OrdersClient
from frontline.errors import BackendError, BackendRejected, NotFound

logger = logging.getLogger(__name__)

STATE_DESCRIPTIONS = {
    "placed": "placed and waiting for payment",
    "paid": "paid and being prepared in our warehouse",
    "packed": "packed and waiting for the carrier",
    "shipped": "on its way",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "returned": "returned",
}


def format_money(amount: str | float | None, currency: str | None = "USD") -> str:
    """``"59.9", "USD"`` -> ``"$59.90"``."""
    if amount is None:
        return "-"
    value = f"{float(amount):,.2f}"
    return f"${value}" if (currency or "USD") == "USD" else f"{value} {currency}"


def format_date(value: str | None) -> str | None:
    """ISO-8601 timestamp -> ``"Tue 3 Nov"``."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return f"{moment:%a} {moment.day} {moment:%b}"


def describe_items(order: dict[str, Any]) -> str:
    """``"2 x Trail Runner Shoes, 1 x Wool Socks"``."""
    items = order.get("items") or []
    return ", ".join(f"{item['quantity']} x {item['name']}" for item in items) or "no items"


def describe_shipment(order: dict[str, Any]) -> str:
    """The sentence about carrier, tracking and delivery for the status answer."""
    shipment = order.get("shipment") or {}
    state = order.get("state")
    if state == "delivered":
        delivered = format_date(shipment.get("delivered_at"))
        return f"It was delivered on {delivered}." if delivered else "It has been delivered."
    if state == "shipped" and shipment:
        parts = [f"{shipment.get('carrier')} tracking number {shipment.get('tracking_number')}"]
        if shipment.get("tracking_url"):
            parts.append(f"({shipment['tracking_url']})")
        estimate = format_date(shipment.get("estimated_delivery"))
        sentence = "It's with " + " ".join(parts) + "."
        return f"{sentence} Estimated delivery: {estimate}." if estimate else sentence
    if state in ("placed", "paid", "packed"):
        estimate = format_date(shipment.get("estimated_delivery")) if shipment else None
        base = "It hasn't shipped yet; you'll get a tracking number when it does."
        return f"{base} Estimated delivery: {estimate}." if estimate else base
    if state == "cancelled":
        return "Nothing will be shipped or charged for it."
    if state == "returned":
        return "The return has been received."
    return ""


def status_message(order: dict[str, Any]) -> dict[str, str]:
    """Variables of the ``utter_order_status`` response."""
    return {
        "order_id": str(order["id"]),
        "items": describe_items(order),
        "state_description": STATE_DESCRIPTIONS.get(order.get("state", ""), order.get("state", "")),
        "shipment_details": describe_shipment(order),
    }


def refund_note(order: dict[str, Any]) -> str:
    """What happens to the money when this order is cancelled."""
    if order.get("state") in ("paid", "packed"):
        total = format_money(order.get("total"), order.get("currency"))
        return f"The payment of {total} will be refunded to your card within 5 business days."
    return "You haven't been charged for it."


def cancellation_prompt(order: dict[str, Any]) -> dict[str, str]:
    """Variables of the ``utter_ask_cancel_confirmed`` response: every detail of the change."""
    return {
        "order_id": str(order["id"]),
        "items": describe_items(order),
        "total": format_money(order.get("total"), order.get("currency")),
        "refund_note": refund_note(order),
    }


def idempotency_key(conversation_id: str, operation: str, *parts: str) -> str:
    """A key that is the same for every retry of one operation in one conversation.

    A redelivered or repeated message re-runs the action; the same key makes the
    backend return the first result instead of writing twice.
    """
    material = "\x1f".join([conversation_id, operation, *parts])
    return f"{operation}-{hashlib.sha256(material.encode()).hexdigest()[:32]}"


class LookupStatus(str, enum.Enum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class OrderLookup:
    status: LookupStatus
    order: dict[str, Any] | None = None


async def find_customer_order(orders: OrdersClient, customer_id: str, order_id: str) -> OrderLookup:
    """Fetches an order that belongs to ``customer_id``.

    Someone else's order is reported as not found, so the answer never reveals
    that an order number exists.
    """
    try:
        order = await orders.get_order(order_id)
    except NotFound:
        return OrderLookup(LookupStatus.NOT_FOUND)
    except BackendError as exc:
        logger.warning("Order lookup failed: %s", exc)
        return OrderLookup(LookupStatus.UNAVAILABLE)
    if order.get("customer_id") != customer_id:
        return OrderLookup(LookupStatus.NOT_FOUND)
    return OrderLookup(LookupStatus.FOUND, order)


async def recent_orders(crm: CrmClient, customer_id: str, limit: int = 3) -> list[dict[str, Any]]:
    """The customer's newest orders (empty when the CRM cannot answer)."""
    try:
        return (await crm.list_orders(customer_id))[:limit]
    except BackendError as exc:
        logger.warning("Could not list orders: %s", exc)
        return []


class CancellationOutcome(str, enum.Enum):
    CANCELLED = "cancelled"
    ALREADY_CANCELLED = "already_cancelled"
    NOT_CANCELLABLE = "not_cancellable"
    KEPT = "kept"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"


# Response that tells the customer each outcome.
CANCELLATION_RESPONSES = {
    CancellationOutcome.CANCELLED: "utter_order_cancelled",
    CancellationOutcome.ALREADY_CANCELLED: "utter_order_already_cancelled",
    CancellationOutcome.NOT_CANCELLABLE: "utter_cancel_not_possible",
    CancellationOutcome.KEPT: "utter_cancel_kept",
    CancellationOutcome.NOT_FOUND: "utter_order_not_found",
    CancellationOutcome.UNAVAILABLE: "utter_backend_error",
}


@dataclass(frozen=True)
class CancellationResult:
    outcome: CancellationOutcome
    order: dict[str, Any] | None = None
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def response(self) -> str:
        return CANCELLATION_RESPONSES[self.outcome]


def _variables(order: dict[str, Any]) -> dict[str, str]:
    return {
        "order_id": str(order["id"]),
        "state_description": STATE_DESCRIPTIONS.get(order["state"], order["state"]),
        "refund_note": refund_note(order),
    }


async def cancel_order(
    orders: OrdersClient,
    *,
    customer_id: str,
    order_id: str,
    confirmed: bool,
    idempotency_key: str,
) -> CancellationResult:
    """Cancels the order if the customer confirmed and the order system allows it.

    Nothing is written unless ``confirmed`` is True. The write carries
    ``idempotency_key``, so a retried message cancels once.
    """
    lookup = await find_customer_order(orders, customer_id, order_id)
    if lookup.status is LookupStatus.UNAVAILABLE:
        return CancellationResult(CancellationOutcome.UNAVAILABLE)
    if lookup.status is LookupStatus.NOT_FOUND or lookup.order is None:
        return CancellationResult(CancellationOutcome.NOT_FOUND, variables={"order_id": order_id})
    order = lookup.order
    if not confirmed:
        outcome = CancellationOutcome.KEPT if order.get("cancellable") else _not_cancellable(order)
        return CancellationResult(outcome, order, _variables(order))
    # Always ask the order system, even if our copy says "cancelled": a retried
    # message then gets the first answer back (idempotency key) rather than a new one.
    try:
        answer = await orders.cancel_order(
            order_id, idempotency_key=idempotency_key, reason="customer request via assistant"
        )
    except BackendRejected as exc:
        if exc.status == 409:
            # The order system is the authority on state; a replayed key would have
            # returned the first (successful) result instead of a 409.
            current = order | {"state": exc.body.get("state", order.get("state"))}
            return CancellationResult(_not_cancellable(current), current, _variables(current))
        logger.warning("Cancellation refused: %s", exc)
        return CancellationResult(CancellationOutcome.UNAVAILABLE, order)
    except BackendError as exc:
        logger.warning("Cancellation failed: %s", exc)
        return CancellationResult(CancellationOutcome.UNAVAILABLE, order)
    cancelled, refund = answer["order"], answer.get("refund")
    # The note comes from the order system's answer, which a replay repeats exactly.
    note = (
        f"The payment of {format_money(refund['amount'], refund.get('currency'))} will be "
        "refunded to your card within 5 business days."
        if refund
        else "You haven't been charged for it."
    )
    variables = _variables(cancelled) | {"refund_note": note}
    return CancellationResult(CancellationOutcome.CANCELLED, cancelled, variables)


def _not_cancellable(order: dict[str, Any]) -> CancellationOutcome:
    if order.get("state") == "cancelled":
        return CancellationOutcome.ALREADY_CANCELLED
    return CancellationOutcome.NOT_CANCELLABLE

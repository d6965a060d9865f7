"""Order status and cancellation: what to tell the customer, and the write itself.

Whether an order can be cancelled is the order system's decision (its ``cancellable``
flag and its 409 answer); this module never second-guesses it, it only explains.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from frontline.audit.store import AuditStore
from frontline.connectors import CrmClient, OrdersClient
from frontline.errors import BackendError, BackendRejected, NotFound
from frontline.policy import Policies, policies
from frontline.services.guardrails import Decision, WriteContext
from frontline.writes import (
    WritePath,
    WriteRequest,
    WriteResult,
    WriteStatus,
    flag_refusal_response,
)

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


def format_money(amount: str | float | Decimal | None, currency: str | None = "USD") -> str:
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


async def find_customer_order(
    orders: OrdersClient, customer_id: str | None, order_id: str
) -> OrderLookup:
    """Fetches an order that belongs to ``customer_id``.

    Someone else's order is reported as not found, so the answer never reveals
    that an order number exists; with no verified customer nothing is read.
    """
    if not customer_id:
        return OrderLookup(LookupStatus.NOT_FOUND)
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
    NEEDS_HUMAN = "needs_human"
    UNKNOWN = "outcome_unknown"


# Response that tells the customer each outcome.
CANCELLATION_RESPONSES = {
    CancellationOutcome.CANCELLED: "utter_order_cancelled",
    CancellationOutcome.ALREADY_CANCELLED: "utter_order_already_cancelled",
    CancellationOutcome.NOT_CANCELLABLE: "utter_cancel_not_possible",
    CancellationOutcome.KEPT: "utter_cancel_kept",
    CancellationOutcome.NOT_FOUND: "utter_order_not_found",
    CancellationOutcome.UNAVAILABLE: "utter_backend_error",
    CancellationOutcome.NEEDS_HUMAN: "utter_write_needs_human",
    CancellationOutcome.UNKNOWN: "utter_write_outcome_unknown",
}

CANCEL_OPERATION = "cancel_order"


@dataclass(frozen=True)
class CancellationResult:
    """What a cancellation attempt came to.

    Attributes:
        decision: The guardrail's decision, when a write was considered; a refusal
            (``NEEDS_HUMAN``) names the rule to hand off with.
    """

    outcome: CancellationOutcome
    order: dict[str, Any] | None = None
    variables: dict[str, str] = field(default_factory=dict)
    decision: Decision | None = None
    write: WriteResult | None = None

    @property
    def response(self) -> str:
        return flag_refusal_response(self.write) or CANCELLATION_RESPONSES[self.outcome]


def _variables(order: dict[str, Any]) -> dict[str, str]:
    return {
        "order_id": str(order["id"]),
        "state_description": STATE_DESCRIPTIONS.get(order["state"], order["state"]),
        "refund_note": refund_note(order),
    }


async def cancel_order(
    orders: OrdersClient,
    *,
    crm: CrmClient,
    customer_id: str | None,
    order_id: str,
    confirmed: bool,
    idempotency_key: str,
    context: WriteContext,
    rules: Policies | None = None,
    audit: AuditStore | None = None,
) -> CancellationResult:
    """Cancels the order if the customer confirmed, the policies allow it and the order
    system accepts it.

    Nothing is written unless ``confirmed`` is True and the guardrail
    (:func:`~frontline.services.guardrails.authorize_write`) allows the write: the
    customer is verified, said yes to cancelling this very order, cancelling is in scope
    on this channel and tier, the order's state allows it and its total is within the
    money limit. A refusal comes back as ``NEEDS_HUMAN`` with the decision naming the
    rule. The write carries ``idempotency_key``, so a retried message cancels once.
    The decision and the write's result are appended to ``audit`` when given.
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
    rules = rules or policies()
    try:
        tier = await _tier_if_needed(crm, customer_id, rules, CANCEL_OPERATION)
    except BackendError as exc:
        logger.warning("Could not read the customer's tier: %s", exc)
        return CancellationResult(CancellationOutcome.UNAVAILABLE, order)
    written = await WritePath(rules, audit).execute(
        WriteRequest(
            CANCEL_OPERATION,
            context,
            customer_id=customer_id,
            subject=order_id,
            idempotency_key=idempotency_key,
            # Always ask the order system, even if our copy says "cancelled": a retried
            # message then gets the first answer back (idempotency key), not a new one.
            perform=lambda key: orders.cancel_order(
                order_id, idempotency_key=key, reason="customer request via assistant"
            ),
            amount=order.get("total"),
            currency=order.get("currency") or "USD",
            order_state=order.get("state"),
            tier=tier,
            details={"order_id": order_id},
            outcome_of=lambda w: _cancellation(w, order).outcome.value,
        )
    )
    result = _cancellation(written, order)
    return replace(result, decision=written.decision, write=written)


async def _tier_if_needed(
    crm: CrmClient, customer_id: str | None, rules: Policies, operation: str
) -> str | None:
    """The customer's tier from the CRM, fetched only if a scope rule depends on it."""
    write = rules.escalation.writes.get(operation)
    if (
        not customer_id
        or write is None
        or not any(r.tiers and write.intent in r.intents for r in rules.scope.restrictions)
    ):
        return None
    customer = await crm.get_customer(customer_id)
    return customer.get("tier")


def _cancellation(written: WriteResult, order: dict[str, Any]) -> CancellationResult:
    """What the write path's result means for this cancellation."""
    if written.status is WriteStatus.REFUSED:
        return CancellationResult(CancellationOutcome.NEEDS_HUMAN, order, _variables(order))
    if written.status is WriteStatus.OUTCOME_UNKNOWN:
        return CancellationResult(CancellationOutcome.UNKNOWN, order, _variables(order))
    if written.status is WriteStatus.REJECTED and isinstance(written.error, BackendRejected):
        if written.error.status == 409:
            # The order system is the authority on state; a replayed key would have
            # returned the first (successful) result instead of a 409.
            state = written.error.body.get("state", order.get("state"))
            current = order | {"state": state}
            return CancellationResult(_not_cancellable(current), current, _variables(current))
        return CancellationResult(CancellationOutcome.UNAVAILABLE, order)
    if written.status is not WriteStatus.DONE or written.answer is None:
        return CancellationResult(CancellationOutcome.UNAVAILABLE, order)
    cancelled, refund = written.answer["order"], written.answer.get("refund")
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

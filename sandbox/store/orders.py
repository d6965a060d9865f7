"""Order management: orders, their cancellation and their return.

A cancellation or a return changes the order and its invoice together, or, when it
raises, nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy.orm import Session

from sandbox import errors
from sandbox.errors import ApiError
from sandbox.models import RETURNABLE_STATES, Invoice, Order, ReturnAuthorization
from sandbox.serializers import JsonDict, money, order_json, return_json
from sandbox.store import queries
from sandbox.store.care import issue_refund

logger = logging.getLogger(__name__)


def customer_orders(session: Session, customer_id: str) -> list[JsonDict]:
    """A customer's orders, newest first; 404 ``customer_not_found``."""
    return queries.orders_json(
        session, queries.rows_of_customer(session, queries.ORDERS_OF_CUSTOMER, customer_id)
    )


def get_order(session: Session, order_id: str) -> JsonDict:
    """One order; 404 ``order_not_found``."""
    missing = errors.order_not_found(order_id)
    return queries.orders_json(
        session, queries.found_rows(session, queries.ORDER_BY_ID, {"order_id": order_id}, missing)
    )[0]


def cancel_order(session: Session, order_id: str, reason: str | None, now: dt.datetime) -> JsonDict:
    """Cancels an order that is still ``placed`` or ``paid``.

    A paid order's invoice becomes ``refunded``; an unpaid one's becomes ``void``.
    Nothing is written when an :class:`ApiError` is raised.

    Returns:
        ``{"order": <order>, "refund": {"invoice_id", "amount", "currency"} | None}``.

    Raises:
        ApiError: 404 ``order_not_found``; 409 ``not_cancellable`` (with ``state``).
    """
    order = queries.locked(session, Order, Order.id == order_id)
    if order is None:
        raise errors.order_not_found(order_id)
    if not order.cancellable:
        raise ApiError(
            409,
            "not_cancellable",
            f"Order {order_id} is {order.state} and can no longer be cancelled.",
            state=order.state,
        )
    previous_state = order.state
    order.state = "cancelled"
    order.cancelled_at = now
    order.updated_at = now
    order.cancel_reason = reason
    invoice = queries.locked(session, Invoice, Invoice.order_id == order_id)
    refund = None
    if invoice is not None:
        if invoice.status == "paid":
            invoice.status = "refunded"
            invoice.refunded_at = now
            issue_refund(session, invoice, now)
            refund = {"invoice_id": invoice.id, "amount": money(invoice.amount), "currency": "USD"}
        elif invoice.status == "open":
            invoice.status = "void"
    session.flush()
    logger.info("order %s cancelled (was %s)", order_id, previous_state)
    return {"order": order_json(order, order.items, order.shipment), "refund": refund}


def return_order(session: Session, order_id: str, reason: str | None, now: dt.datetime) -> JsonDict:
    """Authorises the return of a delivered order and refunds what was paid for it.

    The order becomes ``returned``; a paid invoice becomes ``refunded``, the refund
    going to the card of the invoice's first charge. Nothing is written when an
    :class:`ApiError` is raised.

    Returns:
        ``{"order": <order>, "return": <return with its refund>}``.

    Raises:
        ApiError: 404 ``order_not_found``; 409 ``not_returnable`` (with ``state``).
    """
    order = queries.locked(session, Order, Order.id == order_id)
    if order is None:
        raise errors.order_not_found(order_id)
    if order.state not in RETURNABLE_STATES:
        raise ApiError(
            409,
            "not_returnable",
            f"Order {order_id} is {order.state}; only delivered orders can be returned.",
            state=order.state,
        )
    record = ReturnAuthorization(
        id="RMA-" + uuid.uuid4().hex[:10].upper(),
        order_id=order.id,
        customer_id=order.customer_id,
        reason=reason,
        currency=order.currency,
        created_at=now,
    )
    invoice = queries.locked(session, Invoice, Invoice.order_id == order_id)
    if invoice is not None and invoice.status == "paid":
        invoice.status = "refunded"
        invoice.refunded_at = now
        issue_refund(session, invoice, now)
        record.refund_amount = invoice.amount
        first_charge = invoice.charges[0] if invoice.charges else None
        if first_charge is not None:
            record.card_brand = first_charge.card_brand
            record.card_last4 = first_charge.card_last4
    order.state = "returned"
    order.returned_at = now
    order.updated_at = now
    session.add(record)
    session.flush()
    logger.info("order %s returned (%s)", order_id, record.id)
    return {
        "order": order_json(order, order.items, order.shipment),
        "return": return_json(record),
    }

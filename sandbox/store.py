"""Queries and writes of the CRM, order and billing systems.

Every function takes an open session, runs in a worker thread, and returns
JSON-ready dicts (built while the session is open) or raises
:class:`~sandbox.errors.ApiError`. Reads are the hot path (the assistant looks orders
up all the time), so they use prepared Core statements on the tables; writes use the
ORM.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from sandbox import errors
from sandbox.errors import ApiError
from sandbox.models import Charge, Customer, Invoice, Order, OrderItem, Shipment
from sandbox.serializers import (
    JsonDict,
    charge_json,
    customer_json,
    invoice_json,
    money,
    order_json,
)

logger = logging.getLogger(__name__)

_customers = Customer.__table__
_orders = Order.__table__
_items = OrderItem.__table__
_shipments = Shipment.__table__
_invoices = Invoice.__table__
_charges = Charge.__table__

# Statements are built once; SQLAlchemy caches their compiled form.
_CUSTOMER_BY_ID = sa.select(_customers).where(_customers.c.id == sa.bindparam("customer_id"))
_CUSTOMER_BY_EMAIL = sa.select(_customers).where(_customers.c.email_key == sa.bindparam("email"))
_CUSTOMER_EXISTS = sa.select(_customers.c.id).where(_customers.c.id == sa.bindparam("customer_id"))
_ORDER_OWNER = sa.select(_orders.c.customer_id).where(_orders.c.id == sa.bindparam("order_id"))
_ORDERS_WITH_SHIPMENT = sa.select(
    _orders,
    _shipments.c.carrier,
    _shipments.c.tracking_number,
    _shipments.c.shipped_at,
    _shipments.c.estimated_delivery,
    _shipments.c.delivered_at,
).select_from(_orders.outerjoin(_shipments, _shipments.c.order_id == _orders.c.id))
_ORDER_BY_ID = _ORDERS_WITH_SHIPMENT.where(_orders.c.id == sa.bindparam("order_id"))
_ORDERS_OF_CUSTOMER = _ORDERS_WITH_SHIPMENT.where(
    _orders.c.customer_id == sa.bindparam("customer_id")
).order_by(_orders.c.placed_at.desc(), _orders.c.id.desc())
_ITEMS_OF_ORDERS = (
    sa.select(_items)
    .where(_items.c.order_id.in_(sa.bindparam("order_ids", expanding=True)))
    .order_by(_items.c.order_id, _items.c.position)
)
_INVOICE_BY_ID = sa.select(_invoices).where(_invoices.c.id == sa.bindparam("invoice_id"))
_INVOICES_OF_CUSTOMER = (
    sa.select(_invoices)
    .where(_invoices.c.customer_id == sa.bindparam("customer_id"))
    .order_by(_invoices.c.issued_at.desc(), _invoices.c.id.desc())
)
_CHARGES_OF_INVOICES = (
    sa.select(_charges)
    .where(_charges.c.invoice_id.in_(sa.bindparam("invoice_ids", expanding=True)))
    .order_by(_charges.c.created_at, _charges.c.id)
)
_CHARGES_OF_CUSTOMER = (
    sa.select(_charges, _invoices.c.order_id)
    .join(_invoices, _invoices.c.id == _charges.c.invoice_id)
    .where(_charges.c.customer_id == sa.bindparam("customer_id"))
    .order_by(_charges.c.created_at.desc(), _charges.c.id.desc())
)


def normalize_email(email: str) -> str:
    """E-mails match case-insensitively and ignore surrounding blanks."""
    return email.strip().lower()


def normalize_zip(zip_code: str) -> str:
    """``"94107-1234"`` and ``" 94107 "`` both match ``"94107"``."""
    return zip_code.strip().split("-", 1)[0].strip()


def _require_customer(session: Session, customer_id: str) -> None:
    if session.execute(_CUSTOMER_EXISTS, {"customer_id": customer_id}).first() is None:
        raise errors.customer_not_found(customer_id)


def _orders_json(session: Session, rows: Sequence[Row]) -> list[JsonDict]:
    if not rows:
        return []
    items: dict[str, list[Any]] = defaultdict(list)
    for item in session.execute(_ITEMS_OF_ORDERS, {"order_ids": [row.id for row in rows]}):
        items[item.order_id].append(item)
    return [order_json(row, items[row.id], row) for row in rows]


def _invoices_json(session: Session, rows: Sequence[Row]) -> list[JsonDict]:
    if not rows:
        return []
    charges: dict[str, list[Any]] = defaultdict(list)
    for charge in session.execute(_CHARGES_OF_INVOICES, {"invoice_ids": [row.id for row in rows]}):
        charges[charge.invoice_id].append(charge)
    return [invoice_json(row, charges[row.id]) for row in rows]


# -- CRM -----------------------------------------------------------------------------------


def verify_customer(
    session: Session, email: str, order_id: str | None, zip_code: str | None
) -> JsonDict | None:
    """The customer owning ``email`` when the order is theirs or the ZIP code matches.

    Returns:
        The customer, or ``None`` without telling which check failed.
    """
    customer = session.execute(_CUSTOMER_BY_EMAIL, {"email": normalize_email(email)}).first()
    if customer is None:
        return None
    if order_id is not None:
        owner = session.execute(_ORDER_OWNER, {"order_id": order_id}).scalar()
        if owner == customer.id:
            return customer_json(customer)
    if zip_code is not None and normalize_zip(zip_code) == customer.zip_code:
        return customer_json(customer)
    return None


def get_customer(session: Session, customer_id: str) -> JsonDict:
    """One customer; 404 ``customer_not_found``."""
    customer = session.execute(_CUSTOMER_BY_ID, {"customer_id": customer_id}).first()
    if customer is None:
        raise errors.customer_not_found(customer_id)
    return customer_json(customer)


def find_customers(session: Session, email: str) -> list[JsonDict]:
    """The customers with this e-mail (case-insensitive): zero or one."""
    rows = session.execute(_CUSTOMER_BY_EMAIL, {"email": normalize_email(email)}).all()
    return [customer_json(row) for row in rows]


# -- Orders --------------------------------------------------------------------------------


def customer_orders(session: Session, customer_id: str) -> list[JsonDict]:
    """A customer's orders, newest first; 404 ``customer_not_found``."""
    rows = session.execute(_ORDERS_OF_CUSTOMER, {"customer_id": customer_id}).all()
    if not rows:
        _require_customer(session, customer_id)
    return _orders_json(session, rows)


def get_order(session: Session, order_id: str) -> JsonDict:
    """One order; 404 ``order_not_found``."""
    rows = session.execute(_ORDER_BY_ID, {"order_id": order_id}).all()
    if not rows:
        raise errors.order_not_found(order_id)
    return _orders_json(session, rows)[0]


def cancel_order(session: Session, order_id: str, reason: str | None, now: dt.datetime) -> JsonDict:
    """Cancels an order that is still ``placed`` or ``paid``.

    A paid order's invoice becomes ``refunded``; an unpaid one's becomes ``void``.
    Nothing is written when an :class:`ApiError` is raised.

    Returns:
        ``{"order": <order>, "refund": {"invoice_id", "amount", "currency"} | None}``.

    Raises:
        ApiError: 404 ``order_not_found``; 409 ``not_cancellable`` (with ``state``).
    """
    order = session.execute(
        sa.select(Order).where(Order.id == order_id).with_for_update()
    ).scalar_one_or_none()
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
    invoice = session.execute(
        sa.select(Invoice).where(Invoice.order_id == order_id).with_for_update()
    ).scalar_one_or_none()
    refund = None
    if invoice is not None:
        if invoice.status == "paid":
            invoice.status = "refunded"
            invoice.refunded_at = now
            refund = {"invoice_id": invoice.id, "amount": money(invoice.amount), "currency": "USD"}
        elif invoice.status == "open":
            invoice.status = "void"
    session.flush()
    logger.info("order %s cancelled (was %s)", order_id, previous_state)
    return {"order": order_json(order, order.items, order.shipment), "refund": refund}


# -- Billing -------------------------------------------------------------------------------


def customer_invoices(session: Session, customer_id: str) -> list[JsonDict]:
    """A customer's invoices with their charges, newest first; 404 ``customer_not_found``."""
    rows = session.execute(_INVOICES_OF_CUSTOMER, {"customer_id": customer_id}).all()
    if not rows:
        _require_customer(session, customer_id)
    return _invoices_json(session, rows)


def get_invoice(session: Session, invoice_id: str) -> JsonDict:
    """One invoice with its charges; 404 ``invoice_not_found``."""
    rows = session.execute(_INVOICE_BY_ID, {"invoice_id": invoice_id}).all()
    if not rows:
        raise errors.invoice_not_found(invoice_id)
    return _invoices_json(session, rows)[0]


def customer_charges(session: Session, customer_id: str) -> list[JsonDict]:
    """A customer's card charges, newest first; 404 ``customer_not_found``."""
    rows = session.execute(_CHARGES_OF_CUSTOMER, {"customer_id": customer_id}).all()
    if not rows:
        _require_customer(session, customer_id)
    return [charge_json(row, row.order_id) for row in rows]

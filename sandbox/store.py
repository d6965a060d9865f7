"""Queries and writes of the CRM, order and billing systems.

Every function takes an open session, runs in a worker thread, and returns
JSON-ready dicts (serialised while the session is open) or raises
:class:`~sandbox.errors.ApiError`.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from sandbox import errors
from sandbox.errors import ApiError
from sandbox.models import Charge, Customer, Invoice, Order
from sandbox.serializers import (
    JsonDict,
    charge_json,
    customer_json,
    invoice_json,
    order_json,
)

logger = logging.getLogger(__name__)

_ORDER_LOAD = (selectinload(Order.items), joinedload(Order.shipment))


def normalize_email(email: str) -> str:
    """E-mails match case-insensitively and ignore surrounding blanks."""
    return email.strip().lower()


def normalize_zip(zip_code: str) -> str:
    """``"94107-1234"`` and ``" 94107 "`` both match ``"94107"``."""
    return zip_code.strip().split("-", 1)[0].strip()


def _customer_by_email(session: Session, email: str) -> Customer | None:
    return session.execute(
        sa.select(Customer).where(Customer.email_key == normalize_email(email))
    ).scalar_one_or_none()


def _require_customer(session: Session, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise errors.customer_not_found(customer_id)
    return customer


# -- CRM -----------------------------------------------------------------------------------


def verify_customer(
    session: Session, email: str, order_id: str | None, zip_code: str | None
) -> JsonDict | None:
    """The customer owning ``email`` when the order is theirs or the ZIP code matches.

    Returns:
        The customer, or ``None`` without telling which check failed.
    """
    customer = _customer_by_email(session, email)
    if customer is None:
        return None
    if order_id is not None:
        owner = session.execute(
            sa.select(Order.customer_id).where(Order.id == order_id)
        ).scalar_one_or_none()
        if owner == customer.id:
            return customer_json(customer)
    if zip_code is not None and normalize_zip(zip_code) == customer.zip_code:
        return customer_json(customer)
    return None


def get_customer(session: Session, customer_id: str) -> JsonDict:
    """One customer; 404 ``customer_not_found``."""
    return customer_json(_require_customer(session, customer_id))


def find_customers(session: Session, email: str) -> list[JsonDict]:
    """The customers with this e-mail (case-insensitive): zero or one."""
    customer = _customer_by_email(session, email)
    return [] if customer is None else [customer_json(customer)]


# -- Orders --------------------------------------------------------------------------------


def customer_orders(session: Session, customer_id: str) -> list[JsonDict]:
    """A customer's orders, newest first; 404 ``customer_not_found``."""
    _require_customer(session, customer_id)
    orders = session.execute(
        sa.select(Order)
        .where(Order.customer_id == customer_id)
        .options(selectinload(Order.items), selectinload(Order.shipment))
        .order_by(Order.placed_at.desc(), Order.id.desc())
    ).scalars()
    return [order_json(order) for order in orders]


def get_order(session: Session, order_id: str) -> JsonDict:
    """One order; 404 ``order_not_found``."""
    order = session.get(Order, order_id, options=_ORDER_LOAD)
    if order is None:
        raise errors.order_not_found(order_id)
    return order_json(order)


def cancel_order(session: Session, order_id: str, reason: str | None, now: dt.datetime) -> JsonDict:
    """Cancels an order that is still ``placed`` or ``paid``.

    A paid order's invoice becomes ``refunded``; an unpaid one's becomes ``void``.
    Nothing is written when an :class:`ApiError` is raised.

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
    if invoice is not None:
        if invoice.status == "paid":
            invoice.status = "refunded"
            invoice.refunded_at = now
        elif invoice.status == "open":
            invoice.status = "void"
    session.flush()
    logger.info("order %s cancelled (was %s)", order_id, previous_state)
    return order_json(order)


# -- Billing -------------------------------------------------------------------------------


def customer_invoices(session: Session, customer_id: str) -> list[JsonDict]:
    """A customer's invoices with their charges, newest first; 404 ``customer_not_found``."""
    _require_customer(session, customer_id)
    invoices = session.execute(
        sa.select(Invoice)
        .where(Invoice.customer_id == customer_id)
        .options(selectinload(Invoice.charges))
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc())
    ).scalars()
    return [invoice_json(invoice) for invoice in invoices]


def get_invoice(session: Session, invoice_id: str) -> JsonDict:
    """One invoice with its charges; 404 ``invoice_not_found``."""
    invoice = session.get(Invoice, invoice_id, options=(selectinload(Invoice.charges),))
    if invoice is None:
        raise errors.invoice_not_found(invoice_id)
    return invoice_json(invoice)


def customer_charges(session: Session, customer_id: str) -> list[JsonDict]:
    """A customer's card charges, newest first; 404 ``customer_not_found``."""
    _require_customer(session, customer_id)
    rows = session.execute(
        sa.select(Charge, Invoice.order_id)
        .join(Invoice, Charge.invoice_id == Invoice.id)
        .where(Charge.customer_id == customer_id)
        .order_by(Charge.created_at.desc(), Charge.id.desc())
    ).all()
    return [charge_json(charge, order_id) for charge, order_id in rows]

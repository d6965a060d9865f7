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
import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from sandbox import errors
from sandbox.errors import ApiError
from sandbox.models import (
    RETURNABLE_STATES,
    Charge,
    Contact,
    Customer,
    CustomerAddress,
    Dispute,
    Invoice,
    Order,
    OrderItem,
    PasswordReset,
    ReturnAuthorization,
    Shipment,
)
from sandbox.serializers import (
    JsonDict,
    charge_json,
    contact_json,
    customer_json,
    dispute_json,
    invoice_json,
    money,
    order_json,
    password_reset_json,
    return_json,
)

logger = logging.getLogger(__name__)

_customers = Customer.__table__
_addresses = CustomerAddress.__table__
_orders = Order.__table__
_items = OrderItem.__table__
_shipments = Shipment.__table__
_invoices = Invoice.__table__
_charges = Charge.__table__
_contacts = Contact.__table__

# Statements are built once; SQLAlchemy caches their compiled form.
_CUSTOMERS_WITH_ADDRESS = sa.select(
    _customers, _addresses.c.address.label("shipping_address")
).select_from(_customers.outerjoin(_addresses, _addresses.c.customer_id == _customers.c.id))
_CUSTOMER_BY_ID = _CUSTOMERS_WITH_ADDRESS.where(_customers.c.id == sa.bindparam("customer_id"))
_CUSTOMER_BY_EMAIL = _CUSTOMERS_WITH_ADDRESS.where(_customers.c.email_key == sa.bindparam("email"))
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


#: How long a password-reset link stays valid.
RESET_LINK_LIFETIME = dt.timedelta(hours=1)
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE_SHAPE = re.compile(r"^\+?[0-9][0-9 ().-]{6,30}$")
_ADDRESS_LENGTH = (5, 300)


def _new_id(prefix: str, length: int = 16) -> str:
    return prefix + uuid.uuid4().hex[:length]


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
            return customer_json(customer, customer.shipping_address)
    if zip_code is not None and normalize_zip(zip_code) == customer.zip_code:
        return customer_json(customer, customer.shipping_address)
    return None


def get_customer(session: Session, customer_id: str) -> JsonDict:
    """One customer; 404 ``customer_not_found``."""
    customer = session.execute(_CUSTOMER_BY_ID, {"customer_id": customer_id}).first()
    if customer is None:
        raise errors.customer_not_found(customer_id)
    return customer_json(customer, customer.shipping_address)


def find_customers(session: Session, email: str) -> list[JsonDict]:
    """The customers with this e-mail (case-insensitive): zero or one."""
    rows = session.execute(_CUSTOMER_BY_EMAIL, {"email": normalize_email(email)}).all()
    return [customer_json(row, row.shipping_address) for row in rows]


def add_contact(
    session: Session,
    customer_id: str,
    *,
    channel: str,
    conversation_id: str,
    topic: str | None,
    started_at: dt.datetime | None,
    now: dt.datetime,
) -> JsonDict:
    """Records a contact of the customer; 404 ``customer_not_found``.

    Args:
        started_at: When the conversation started; ``now`` when not given.
    """
    _require_customer(session, customer_id)
    contact = Contact(
        id=uuid.uuid4().hex,
        customer_id=customer_id,
        channel=channel,
        conversation_id=conversation_id,
        topic=topic,
        started_at=started_at or now,
        created_at=now,
    )
    session.add(contact)
    session.flush()
    logger.info("contact %s of customer %s recorded (%s)", contact.id, customer_id, channel)
    return contact_json(contact)


def customer_contacts(
    session: Session, customer_id: str, *, limit: int, channel: str | None = None
) -> list[JsonDict]:
    """A customer's contacts, newest first; 404 ``customer_not_found``."""
    query = sa.select(_contacts).where(_contacts.c.customer_id == customer_id)
    if channel is not None:
        query = query.where(_contacts.c.channel == channel)
    query = query.order_by(
        _contacts.c.started_at.desc(), _contacts.c.created_at.desc(), _contacts.c.id
    ).limit(limit)
    rows = session.execute(query).all()
    if not rows:
        _require_customer(session, customer_id)
    return [contact_json(row) for row in rows]


def request_password_reset(
    session: Session, customer_id: str, requested_via: str, now: dt.datetime
) -> JsonDict:
    """E-mails a password-reset link to the address on file and records it.

    Returns:
        ``{"password_reset": <the reset>}``.

    Raises:
        ApiError: 404 ``customer_not_found``.
    """
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise errors.customer_not_found(customer_id)
    reset = PasswordReset(
        id=_new_id("pr_"),
        customer_id=customer.id,
        sent_to=customer.email,
        requested_via=requested_via,
        created_at=now,
        expires_at=now + RESET_LINK_LIFETIME,
    )
    session.add(reset)
    session.flush()
    logger.info("password reset link sent for customer %s", customer_id)
    return {"password_reset": password_reset_json(reset)}


def customer_password_resets(session: Session, customer_id: str) -> list[JsonDict]:
    """The reset links sent to a customer, newest first; 404 ``customer_not_found``."""
    _require_customer(session, customer_id)
    resets = session.execute(
        sa.select(PasswordReset)
        .where(PasswordReset.customer_id == customer_id)
        .order_by(PasswordReset.created_at.desc(), PasswordReset.id.desc())
    ).scalars()
    return [password_reset_json(reset) for reset in resets]


def update_customer(
    session: Session, customer_id: str, changes: dict[str, str], now: dt.datetime
) -> JsonDict:
    """Changes the e-mail, phone number and/or shipping address on an account.

    Args:
        changes: Any of ``email``, ``phone``, ``shipping_address`` with the new values.

    Returns:
        ``{"customer": <customer>, "changed": [<fields whose value changed>]}``.

    Raises:
        ApiError: 404 ``customer_not_found``; 400 ``invalid_request`` for a malformed
            value; 409 ``email_taken`` when another account has the e-mail address.
    """
    customer = session.execute(
        sa.select(Customer).where(Customer.id == customer_id).with_for_update()
    ).scalar_one_or_none()
    if customer is None:
        raise errors.customer_not_found(customer_id)
    changed: list[str] = []
    if "email" in changes:
        email = changes["email"]
        if not _EMAIL_SHAPE.match(email):
            raise errors.invalid_request("Field 'email' is not an e-mail address.")
        key = normalize_email(email)
        if key != customer.email_key:
            taken = session.execute(_CUSTOMER_BY_EMAIL, {"email": key}).first()
            if taken is not None:
                raise ApiError(409, "email_taken", "Another account uses this e-mail address.")
        if email != customer.email:
            customer.email, customer.email_key = email, key
            changed.append("email")
    if "phone" in changes:
        phone = changes["phone"]
        if not _PHONE_SHAPE.match(phone) or sum(c.isdigit() for c in phone) < 7:
            raise errors.invalid_request("Field 'phone' is not a phone number.")
        if phone != customer.phone:
            customer.phone = phone
            changed.append("phone")
    if "shipping_address" in changes:
        address = " ".join(changes["shipping_address"].split())
        if not _ADDRESS_LENGTH[0] <= len(address) <= _ADDRESS_LENGTH[1]:
            raise errors.invalid_request("Field 'shipping_address' must be 5-300 characters.")
        if customer.address is None:
            customer.address = CustomerAddress(address=address, updated_at=now)
            changed.append("shipping_address")
        elif customer.address.address != address:
            customer.address.address = address
            customer.address.updated_at = now
            changed.append("shipping_address")
    session.flush()
    logger.info("customer %s changed: %s", customer_id, ", ".join(changed) or "nothing")
    address_on_file = customer.address.address if customer.address is not None else None
    return {"customer": customer_json(customer, address_on_file), "changed": changed}


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
    order = session.execute(
        sa.select(Order).where(Order.id == order_id).with_for_update()
    ).scalar_one_or_none()
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
    invoice = session.execute(
        sa.select(Invoice).where(Invoice.order_id == order_id).with_for_update()
    ).scalar_one_or_none()
    if invoice is not None and invoice.status == "paid":
        invoice.status = "refunded"
        invoice.refunded_at = now
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


def open_dispute(
    session: Session, charge_id: str, reason: str, note: str | None, now: dt.datetime
) -> JsonDict:
    """Opens a dispute of one charge for the billing team.

    Returns:
        ``{"dispute": <dispute>}``.

    Raises:
        ApiError: 404 ``charge_not_found``; 409 ``already_disputed`` (with
            ``dispute_id``) when the charge has an open dispute already.
    """
    charge = session.execute(
        sa.select(Charge).where(Charge.id == charge_id).with_for_update()
    ).scalar_one_or_none()
    if charge is None:
        raise errors.charge_not_found(charge_id)
    existing = session.execute(
        sa.select(Dispute.id).where(Dispute.charge_id == charge_id, Dispute.status == "open")
    ).scalar()
    if existing is not None:
        raise ApiError(
            409,
            "already_disputed",
            f"Charge {charge_id} already has an open dispute.",
            dispute_id=existing,
        )
    dispute = Dispute(
        id=_new_id("dp_"),
        charge_id=charge.id,
        invoice_id=charge.invoice_id,
        customer_id=charge.customer_id,
        amount=charge.amount,
        currency=charge.currency,
        reason=reason,
        note=note,
        status="open",
        created_at=now,
    )
    session.add(dispute)
    session.flush()
    logger.info("charge %s disputed (%s): %s", charge_id, reason, dispute.id)
    return {"dispute": dispute_json(dispute)}


def customer_disputes(session: Session, customer_id: str) -> list[JsonDict]:
    """A customer's disputes, newest first; 404 ``customer_not_found``."""
    _require_customer(session, customer_id)
    disputes = session.execute(
        sa.select(Dispute)
        .where(Dispute.customer_id == customer_id)
        .order_by(Dispute.created_at.desc(), Dispute.id.desc())
    ).scalars()
    return [dispute_json(dispute) for dispute in disputes]

"""What customers ask about after ordering: deliveries, refunds, payments, invoice copies.

Reads use the ORM (they are not on the hot path); the one write, e-mailing an invoice
copy, goes through :mod:`sandbox.idempotency` like every other write.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sandbox import errors
from sandbox.models import (
    REFUND_ARRIVAL,
    Customer,
    Invoice,
    InvoiceEmail,
    Order,
    PaymentAttempt,
    Refund,
)
from sandbox.serializers import (
    JsonDict,
    delivery_json,
    invoice_email_json,
    payment_attempt_json,
    refund_json,
)
from sandbox.store import queries

logger = logging.getLogger(__name__)


def order_delivery(session: Session, order_id: str) -> JsonDict:
    """The promised delivery date and the parcel of one order; 404 ``order_not_found``."""
    order = session.get(Order, order_id)
    if order is None:
        raise errors.order_not_found(order_id)
    return delivery_json(order, order.promise, order.shipment)


def customer_refunds(session: Session, customer_id: str) -> list[JsonDict]:
    """A customer's refunds, newest first; 404 ``customer_not_found``."""
    queries.require_customer(session, customer_id)
    rows = session.execute(
        sa.select(Refund)
        .where(Refund.customer_id == customer_id)
        .order_by(Refund.issued_at.desc(), Refund.id.desc())
    ).scalars()
    return [refund_json(refund) for refund in rows]


def customer_payments(session: Session, customer_id: str) -> list[JsonDict]:
    """A customer's payment attempts, newest first; 404 ``customer_not_found``."""
    queries.require_customer(session, customer_id)
    rows = session.execute(
        sa.select(PaymentAttempt, Invoice.order_id)
        .join(Invoice, Invoice.id == PaymentAttempt.invoice_id)
        .where(PaymentAttempt.customer_id == customer_id)
        .order_by(PaymentAttempt.created_at.desc(), PaymentAttempt.id.desc())
    ).all()
    return [payment_attempt_json(attempt, order_id) for attempt, order_id in rows]


def customer_invoice_emails(session: Session, customer_id: str) -> list[JsonDict]:
    """The invoice copies e-mailed to a customer, newest first; 404 ``customer_not_found``."""
    return [
        invoice_email_json(sent)
        for sent in queries.newest_of_customer(session, InvoiceEmail, customer_id)
    ]


def email_invoice(session: Session, invoice_id: str, now: dt.datetime) -> JsonDict:
    """E-mails a copy of an invoice to the address on the customer's account.

    Never to an address given in the request: the copy goes where the account says.

    Returns:
        ``{"invoice_email": <the copy sent>}``.

    Raises:
        ApiError: 404 ``invoice_not_found``.
    """
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise errors.invoice_not_found(invoice_id)
    customer = session.get(Customer, invoice.customer_id)
    sent = InvoiceEmail(
        id=queries.new_id("ie_"),
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        sent_to=customer.email,
        created_at=now,
    )
    session.add(sent)
    session.flush()
    logger.info("invoice %s e-mailed to its customer (%s)", invoice_id, sent.id)
    return {"invoice_email": invoice_email_json(sent)}


def issue_refund(session: Session, invoice: Invoice, now: dt.datetime) -> Refund:
    """Records the refund of a paid invoice (a return or a cancellation) as issued now.

    The money goes back to the card of the invoice's first charge and is expected
    there :data:`~sandbox.models.REFUND_ARRIVAL` later.
    """
    first_charge = invoice.charges[0] if invoice.charges else None
    refund = Refund(
        id=queries.new_id("RF-", 10).upper(),
        order_id=invoice.order_id,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        amount=invoice.amount,
        currency=invoice.currency,
        method="card",
        card_brand=first_charge.card_brand if first_charge else None,
        card_last4=first_charge.card_last4 if first_charge else None,
        state="issued",
        issued_at=now,
        expected_at=now + REFUND_ARRIVAL,
    )
    session.add(refund)
    return refund

"""Tables of the sandbox's CRM, order-management and billing systems.

Timestamps are stored as naive UTC and handed out as aware UTC datetimes. Money
is handed out as :class:`~decimal.Decimal`: PostgreSQL stores ``NUMERIC(12, 2)``,
SQLite (whose NUMERIC is a float) stores integer cents.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

# SQLAlchemy 1.4 without its mypy plugin: the declarative base is dynamic to the checker.
Base: Any = declarative_base()

CENT = Decimal("0.01")

#: Every order state, in lifecycle order.
ORDER_STATES = ("placed", "paid", "packed", "shipped", "delivered", "cancelled", "returned")
#: States in which the customer may still cancel (packed orders are with the warehouse).
CANCELLABLE_STATES = frozenset({"placed", "paid"})
#: States in which the order system accepts a return (whether the assistant may
#: authorise one on its own is the assistant's policy, not the order system's).
RETURNABLE_STATES = frozenset({"delivered"})
CUSTOMER_TIERS = ("bronze", "silver", "gold")
#: Invoice statuses: ``open`` (not paid yet), ``paid``, ``refunded``, ``void``.
INVOICE_STATUSES = ("open", "paid", "refunded", "void")


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and returned as an aware UTC datetime."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not accepted; use UTC-aware ones")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


class Money(TypeDecorator):
    """An amount with two decimals: NUMERIC(12, 2), or integer cents on SQLite."""

    impl = sa.Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(12, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(value).quantize(CENT)
        if dialect.name == "sqlite":
            return int(amount * 100)
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(CENT)
        return Decimal(value).quantize(CENT)


def _reference(target: str, length: int, **options: Any) -> sa.Column:
    """A string column holding the id of a row of ``target`` (``table.column``)."""
    return sa.Column(sa.String(length), sa.ForeignKey(target), **options)


def _customer_id(**options: Any) -> sa.Column:
    """The customer a row belongs to (indexed unless ``options`` say otherwise)."""
    return _reference("sandbox_customers.id", 16, **{"nullable": False, "index": True, **options})


def _order_id(**options: Any) -> sa.Column:
    """The order a row belongs to."""
    return _reference("sandbox_orders.id", 16, **{"nullable": False, **options})


def _currency() -> sa.Column:
    """An ISO 4217 currency code; the store sells in US dollars."""
    return sa.Column(sa.String(3), nullable=False, default="USD")


class Customer(Base):
    """A customer of the CRM."""

    __tablename__ = "sandbox_customers"

    id = sa.Column(sa.String(16), primary_key=True)
    name = sa.Column(sa.String(120), nullable=False)
    email = sa.Column(sa.String(254), nullable=False)
    #: Lower-cased e-mail: the lookup key (e-mails match case-insensitively).
    email_key = sa.Column(sa.String(254), nullable=False, unique=True)
    phone = sa.Column(sa.String(32), nullable=False)
    zip_code = sa.Column(sa.String(10), nullable=False)
    tier = sa.Column(sa.String(16), nullable=False)
    channel_ids = sa.Column(sa.JSON, nullable=False, default=dict)
    created_at = sa.Column(UTCDateTime, nullable=False)

    orders = relationship("Order", back_populates="customer", order_by="Order.placed_at.desc()")
    address = relationship(
        "CustomerAddress", back_populates="customer", uselist=False, cascade="all, delete-orphan"
    )


class CustomerAddress(Base):
    """The shipping address on a customer's account (one per customer, free text).

    A table of its own rather than a column, so a database seeded before addresses
    existed still works (its customers simply have no address on file).
    """

    __tablename__ = "sandbox_customer_addresses"

    customer_id = _customer_id(primary_key=True, index=False)
    address = sa.Column(sa.String(300), nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False)

    customer = relationship("Customer", back_populates="address")


class PasswordReset(Base):
    """A password-reset link the CRM e-mailed to a customer."""

    __tablename__ = "sandbox_password_resets"

    id = sa.Column(sa.String(40), primary_key=True)
    customer_id = _customer_id()
    #: The e-mail address on file when the link was sent.
    sent_to = sa.Column(sa.String(254), nullable=False)
    requested_via = sa.Column(sa.String(32), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    expires_at = sa.Column(UTCDateTime, nullable=False)


class Order(Base):
    """An order of the order-management system."""

    __tablename__ = "sandbox_orders"

    id = sa.Column(sa.String(16), primary_key=True)
    customer_id = _customer_id()
    state = sa.Column(sa.String(16), nullable=False)
    placed_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False)
    total = sa.Column(Money, nullable=False)
    currency = _currency()
    cancelled_at = sa.Column(UTCDateTime)
    cancel_reason = sa.Column(sa.String(500))
    returned_at = sa.Column(UTCDateTime)

    customer = relationship("Customer", back_populates="orders")
    items = relationship(
        "OrderItem",
        back_populates="order",
        order_by="OrderItem.position",
        cascade="all, delete-orphan",
    )
    shipment = relationship(
        "Shipment", back_populates="order", uselist=False, cascade="all, delete-orphan"
    )
    invoice = relationship("Invoice", back_populates="order", uselist=False)
    promise = relationship(
        "DeliveryPromise", back_populates="order", uselist=False, cascade="all, delete-orphan"
    )

    @property
    def cancellable(self) -> bool:
        """Whether the order can still be cancelled."""
        return self.state in CANCELLABLE_STATES


class OrderItem(Base):
    """One line of an order."""

    __tablename__ = "sandbox_order_items"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    order_id = _order_id(index=True)
    position = sa.Column(sa.Integer, nullable=False)
    sku = sa.Column(sa.String(32), nullable=False)
    name = sa.Column(sa.String(200), nullable=False)
    quantity = sa.Column(sa.Integer, nullable=False)
    unit_price = sa.Column(Money, nullable=False)

    order = relationship("Order", back_populates="items")


class Shipment(Base):
    """The parcel of a shipped order (one per order)."""

    __tablename__ = "sandbox_shipments"

    order_id = _order_id(primary_key=True)
    carrier = sa.Column(sa.String(32), nullable=False)
    tracking_number = sa.Column(sa.String(40), nullable=False)
    shipped_at = sa.Column(UTCDateTime, nullable=False)
    estimated_delivery = sa.Column(UTCDateTime, nullable=False)
    delivered_at = sa.Column(UTCDateTime)

    order = relationship("Order", back_populates="shipment")


class Invoice(Base):
    """The billing system's invoice of one order."""

    __tablename__ = "sandbox_invoices"

    id = sa.Column(sa.String(24), primary_key=True)
    order_id = _order_id(unique=True)
    customer_id = _customer_id()
    amount = sa.Column(Money, nullable=False)
    currency = _currency()
    issued_at = sa.Column(UTCDateTime, nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    refunded_at = sa.Column(UTCDateTime)

    order = relationship("Order", back_populates="invoice")
    charges = relationship(
        "Charge", back_populates="invoice", order_by="Charge.created_at", cascade="all"
    )
    refunds = relationship("Refund", order_by="Refund.issued_at", cascade="all")
    payment_attempts = relationship(
        "PaymentAttempt", order_by="PaymentAttempt.created_at", cascade="all"
    )


class Charge(Base):
    """A card charge against an invoice. Only the card's brand and last 4 digits are kept."""

    __tablename__ = "sandbox_charges"

    id = sa.Column(sa.String(32), primary_key=True)
    invoice_id = sa.Column(
        sa.String(24), sa.ForeignKey("sandbox_invoices.id"), nullable=False, index=True
    )
    customer_id = _customer_id()
    amount = sa.Column(Money, nullable=False)
    currency = _currency()
    card_brand = sa.Column(sa.String(16), nullable=False)
    card_last4 = sa.Column(sa.String(4), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    description = sa.Column(sa.String(200), nullable=False)

    invoice = relationship("Invoice", back_populates="charges")


class ReturnAuthorization(Base):
    """A return the order system authorised, with the refund it issued (at most one per order)."""

    __tablename__ = "sandbox_returns"

    id = sa.Column(sa.String(40), primary_key=True)
    order_id = _order_id(unique=True)
    customer_id = _customer_id()
    reason = sa.Column(sa.String(500))
    #: ``None`` when nothing had been paid, so nothing was refunded.
    refund_amount = sa.Column(Money)
    currency = _currency()
    card_brand = sa.Column(sa.String(16))
    card_last4 = sa.Column(sa.String(4))
    created_at = sa.Column(UTCDateTime, nullable=False)


#: Why a customer disputes a charge.
DISPUTE_REASONS = ("duplicate", "unrecognized", "other")


class Dispute(Base):
    """A customer's dispute of one card charge, for the billing team to settle."""

    __tablename__ = "sandbox_disputes"

    id = sa.Column(sa.String(40), primary_key=True)
    charge_id = sa.Column(
        sa.String(32), sa.ForeignKey("sandbox_charges.id"), nullable=False, index=True
    )
    invoice_id = sa.Column(sa.String(24), sa.ForeignKey("sandbox_invoices.id"), nullable=False)
    customer_id = _customer_id()
    amount = sa.Column(Money, nullable=False)
    currency = _currency()
    reason = sa.Column(sa.String(16), nullable=False)
    note = sa.Column(sa.String(500))
    #: ``open`` until the billing team settles it.
    status = sa.Column(sa.String(16), nullable=False, default="open")
    created_at = sa.Column(UTCDateTime, nullable=False)


class Contact(Base):
    """One contact of a customer with the company: a conversation on some channel.

    The assistant records a contact when it has verified who the customer is, so an
    agent sees the customer's recent contacts on every channel (web chat, Slack, ...).
    """

    __tablename__ = "sandbox_contacts"
    __table_args__ = (
        sa.Index("ix_sandbox_contacts_customer_started", "customer_id", "started_at"),
    )

    id = sa.Column(sa.String(32), primary_key=True)
    customer_id = _customer_id(index=False)
    #: The channel's name as the assistant knows it: ``socketio``, ``slack``, ``rest``, ...
    channel = sa.Column(sa.String(32), nullable=False)
    conversation_id = sa.Column(sa.String(255), nullable=False)
    #: What the contact was about, in a few words (``order cancellation``).
    topic = sa.Column(sa.String(100))
    started_at = sa.Column(UTCDateTime, nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)


#: A refund's states: ``pending`` (accepted, not sent to the card network yet),
#: ``issued`` (sent, on its way to the card), ``completed`` (reached the customer),
#: ``failed`` (the card network sent it back).
REFUND_STATES = ("pending", "issued", "completed", "failed")
#: How long a card refund takes from being issued to reaching the card (the bank's part).
REFUND_ARRIVAL = dt.timedelta(days=7)


class Refund(Base):
    """Money the billing system pays back for an order (a return or a cancellation)."""

    __tablename__ = "sandbox_refunds"

    id = sa.Column(sa.String(24), primary_key=True)
    order_id = _order_id(index=True)
    invoice_id = sa.Column(sa.String(24), sa.ForeignKey("sandbox_invoices.id"), nullable=False)
    customer_id = _customer_id()
    amount = sa.Column(Money, nullable=False)
    currency = _currency()
    #: ``card`` (back to the card that paid); only the card's brand and last 4 digits.
    method = sa.Column(sa.String(16), nullable=False, default="card")
    card_brand = sa.Column(sa.String(16))
    card_last4 = sa.Column(sa.String(4))
    state = sa.Column(sa.String(16), nullable=False)
    issued_at = sa.Column(UTCDateTime, nullable=False)
    #: When the money is expected on the card.
    expected_at = sa.Column(UTCDateTime, nullable=False)
    completed_at = sa.Column(UTCDateTime)


class DeliveryPromise(Base):
    """The delivery date promised to the customer when they ordered (one per order)."""

    __tablename__ = "sandbox_delivery_promises"

    order_id = _order_id(primary_key=True)
    promised_by = sa.Column(UTCDateTime, nullable=False)

    order = relationship("Order", back_populates="promise")


#: A payment attempt's states (a ``succeeded`` one is a :class:`Charge` too).
PAYMENT_STATES = ("succeeded", "pending", "declined", "failed")


class PaymentAttempt(Base):
    """One attempt to pay an invoice by card: succeeded, pending, declined or failed."""

    __tablename__ = "sandbox_payment_attempts"

    id = sa.Column(sa.String(32), primary_key=True)
    invoice_id = sa.Column(
        sa.String(24), sa.ForeignKey("sandbox_invoices.id"), nullable=False, index=True
    )
    customer_id = _customer_id()
    amount = sa.Column(Money, nullable=False)
    currency = _currency()
    card_brand = sa.Column(sa.String(16), nullable=False)
    card_last4 = sa.Column(sa.String(4), nullable=False)
    state = sa.Column(sa.String(16), nullable=False)
    #: Why the bank declined or the payment failed (``insufficient_funds``, ...).
    decline_code = sa.Column(sa.String(32))
    created_at = sa.Column(UTCDateTime, nullable=False)


class InvoiceEmail(Base):
    """A copy of an invoice the billing system e-mailed to the address on file."""

    __tablename__ = "sandbox_invoice_emails"

    id = sa.Column(sa.String(40), primary_key=True)
    invoice_id = sa.Column(
        sa.String(24), sa.ForeignKey("sandbox_invoices.id"), nullable=False, index=True
    )
    customer_id = _customer_id()
    #: The e-mail address on file when the copy was sent.
    sent_to = sa.Column(sa.String(254), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)


class IdempotencyRecord(Base):
    """The stored outcome of a write made with an ``Idempotency-Key``."""

    __tablename__ = "sandbox_idempotency_keys"

    key = sa.Column(sa.String(255), primary_key=True)
    method = sa.Column(sa.String(8), nullable=False)
    path = sa.Column(sa.String(500), nullable=False)
    #: SHA-256 of method, path and the canonical JSON body.
    fingerprint = sa.Column(sa.String(64), nullable=False)
    #: ``None`` while the first request is still running.
    status_code = sa.Column(sa.Integer)
    response_body = sa.Column(sa.Text)
    created_at = sa.Column(UTCDateTime, nullable=False)
    completed_at = sa.Column(UTCDateTime)

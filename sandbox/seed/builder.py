"""Builds the demo data's ORM objects from one seeded random generator.

Customers, their orders with a plausible history (:class:`Timeline`), shipments,
invoices and card charges (a duplicate charge where asked). Every id and amount comes
from the generator or a counter, never the wall clock, so a build is reproducible.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sandbox.clock import REFERENCE_TIME, UTC
from sandbox.models import (
    REFUND_ARRIVAL,
    Charge,
    Customer,
    CustomerAddress,
    DeliveryPromise,
    Invoice,
    Order,
    OrderItem,
    PaymentAttempt,
    Refund,
    Shipment,
)
from sandbox.seed.catalog import (
    AGE_HOURS,
    AREA_CODES,
    CARD_BRANDS,
    CARRIERS,
    CATALOG,
    CITIES,
    CURRENCY,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    SEED,
    STORE_NAME,
    STREETS,
    TIER_WEIGHTS,
)

#: Days after ordering by which an order that has not shipped is promised.
PROMISED_DAYS = 5


@dataclass(frozen=True)
class OrderExtras:
    """What a persona's order states beyond its timeline (generated orders take defaults).

    Attributes:
        promised_delivery: The promised delivery date (default: :func:`promised_by`).
        refund_state: The state of the order's refund, if it was refunded (default:
            ``completed`` once it is due, else ``issued``).
        payment_attempts: Payment attempts before (or instead of) the charge:
            ``(state, decline_code, created_at)``.
    """

    promised_delivery: dt.datetime | None = None
    refund_state: str | None = None
    payment_attempts: tuple[tuple[str, str | None, dt.datetime], ...] = ()


@dataclass
class Timeline:
    """When each step of an order happened (``None`` for steps it never reached)."""

    placed_at: dt.datetime
    paid_at: dt.datetime | None = None
    packed_at: dt.datetime | None = None
    shipped_at: dt.datetime | None = None
    estimated_delivery: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    returned_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None

    @property
    def last_event(self) -> dt.datetime:
        """The latest step: the order's ``updated_at``."""
        steps = (
            self.placed_at,
            self.paid_at,
            self.packed_at,
            self.shipped_at,
            self.delivered_at,
            self.returned_at,
            self.cancelled_at,
        )
        return max(step for step in steps if step is not None)


@dataclass
class SeedSummary:
    """What a seeding wrote."""

    customers: int = 0
    orders: int = 0
    invoices: int = 0
    charges: int = 0
    duplicate_charges: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        counts = {name: getattr(self, name) for name in ("customers", "orders", "invoices")}
        return {
            **counts,
            "charges": self.charges,
            "duplicate_charge_invoices": list(self.duplicate_charges),
        }


def generated_address(customer_id: str, zip_code: str) -> str:
    """A made-up shipping address, the same for a customer id on every run.

    Drawn from a generator of its own, so adding addresses left every other
    seeded value (ids, amounts, dates) exactly as it was.
    """
    rng = random.Random(f"{SEED}:address:{customer_id}")
    city, state = rng.choice(CITIES)
    return f"{rng.randint(2, 9899)} {rng.choice(STREETS)}, {city}, {state} {zip_code}"


def parse_time(text: str) -> dt.datetime:
    """An ISO-8601 time (``2026-11-01T12:00:00Z``) as an aware UTC datetime."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class Builder:
    """Builds ORM objects from one seeded random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.customers: list[Customer] = []
        self.used_order_ids: set[str] = set()
        self.used_emails: set[str] = set()
        self.invoice_seq = 100000
        self.item_seq = 0
        self.summary = SeedSummary()
        self.cards: dict[str, tuple[str, str]] = {}

    # -- identifiers -------------------------------------------------------------------

    def _token(self, alphabet: str, length: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def new_order_id(self) -> str:
        while True:
            order_id = str(self.rng.randint(100000, 999999))
            if order_id not in self.used_order_ids:
                self.used_order_ids.add(order_id)
                return order_id

    def new_charge_id(self) -> str:
        return "ch_" + self._token(string.ascii_lowercase + string.digits, 16)

    def new_item_id(self) -> int:
        self.item_seq += 1
        return self.item_seq

    def new_invoice_id(self) -> str:
        self.invoice_seq += 1
        return f"INV-{self.invoice_seq}"

    def tracking_number(self, carrier: str) -> str:
        if carrier == "UPS":
            return (
                "1Z"
                + self._token(string.ascii_uppercase + string.digits, 6)
                + self._token(string.digits, 10)
            )
        if carrier == "FedEx":
            return self._token(string.digits, 12)
        if carrier == "USPS":
            return "9400" + self._token(string.digits, 18)
        return self._token(string.digits, 10)

    # -- customers ---------------------------------------------------------------------

    def add_customer(
        self,
        *,
        customer_id: str,
        name: str,
        email: str,
        phone: str,
        zip_code: str,
        tier: str,
        slack_id: str,
        created_at: dt.datetime,
        card: tuple[str, str],
        address: str | None = None,
    ) -> Customer:
        customer = Customer(
            id=customer_id,
            name=name,
            email=email,
            email_key=email.lower(),
            phone=phone,
            zip_code=zip_code,
            tier=tier,
            channel_ids={"slack": slack_id, "web": None},
            created_at=created_at,
        )
        customer.address = CustomerAddress(
            customer_id=customer_id,
            address=address or generated_address(customer_id, zip_code),
            updated_at=created_at,
        )
        self.used_emails.add(email.lower())
        self.cards[customer_id] = card
        self.customers.append(customer)
        self.summary.customers += 1
        return customer

    def generated_customer(self, number: int) -> Customer:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{first}.{last}".lower().replace("'", "")
        local = local.replace("ü", "ue").replace("á", "a")
        domain = rng.choice(EMAIL_DOMAINS)
        email = f"{local}@{domain}"
        suffix = 2
        while email in self.used_emails:
            email = f"{local}{suffix}@{domain}"
            suffix += 1
        tiers, weights = zip(*TIER_WEIGHTS, strict=True)
        return self.add_customer(
            customer_id=f"C{number}",
            name=f"{first} {last}",
            email=email,
            phone=f"+1 {rng.choice(AREA_CODES)} 555 01{rng.randint(0, 99):02d}",
            zip_code=f"{rng.randint(1001, 99950):05d}",
            tier=rng.choices(tiers, weights)[0],
            slack_id="U0" + self._token(string.ascii_uppercase + string.digits, 9),
            created_at=REFERENCE_TIME
            - dt.timedelta(days=rng.randint(200, 1500), seconds=rng.randint(0, 86399)),
            card=(rng.choice(CARD_BRANDS), self._token(string.digits, 4)),
        )

    # -- orders ------------------------------------------------------------------------

    def random_items(self) -> list[tuple[str, int]]:
        skus = self.rng.sample(sorted(CATALOG), self.rng.randint(1, 4))
        return [(sku, self.rng.choices((1, 2, 3), (75, 20, 5))[0]) for sku in skus]

    def random_timeline(self, state: str) -> Timeline:
        """A plausible history for an order now in ``state``, ending before the reference."""
        rng = self.rng

        def later(
            start: dt.datetime | None, low_minutes: float, high_minutes: float
        ) -> dt.datetime:
            # Each step is only taken after the one before it was set.
            assert start is not None
            return start + dt.timedelta(seconds=int(rng.uniform(low_minutes, high_minutes) * 60))

        while True:
            low, high = AGE_HOURS[state]
            placed = REFERENCE_TIME - dt.timedelta(seconds=int(rng.uniform(low, high) * 3600))
            timeline = Timeline(placed_at=placed)
            if state == "cancelled":
                if rng.random() < 0.5:
                    timeline.paid_at = later(placed, 1, 30)
                    timeline.cancelled_at = later(timeline.paid_at, 10, 600)
                else:
                    timeline.cancelled_at = later(placed, 5, 300)
            elif state != "placed":
                timeline.paid_at = later(placed, 1, 30)
                if state != "paid":
                    timeline.packed_at = later(timeline.paid_at, 120, 1200)
                if state in ("shipped", "delivered", "returned"):
                    timeline.shipped_at = later(timeline.packed_at, 240, 1800)
                    timeline.estimated_delivery = (
                        timeline.shipped_at + dt.timedelta(days=rng.randint(2, 5))
                    ).replace(hour=20, minute=0, second=0)
                if state in ("delivered", "returned"):
                    timeline.delivered_at = later(timeline.shipped_at, 1440, 7200)
                if state == "returned":
                    timeline.returned_at = later(timeline.delivered_at, 3 * 1440, 20 * 1440)
            if timeline.last_event <= REFERENCE_TIME:
                return timeline

    def add_order(
        self,
        customer: Customer,
        *,
        order_id: str,
        state: str,
        timeline: Timeline,
        items: Sequence[tuple[str, int]],
        carrier: str | None = None,
        tracking_number: str | None = None,
        duplicate_charge_after: dt.timedelta | None = None,
        extras: OrderExtras | None = None,
    ) -> Order:
        extras = extras or OrderExtras()
        self.used_order_ids.add(order_id)
        order_items = [
            OrderItem(
                id=self.new_item_id(),
                order_id=order_id,
                position=position,
                sku=sku,
                name=CATALOG[sku][0],
                quantity=quantity,
                unit_price=CATALOG[sku][1],
            )
            for position, (sku, quantity) in enumerate(items, start=1)
        ]
        total = sum((item.unit_price * item.quantity for item in order_items), Decimal(0))
        order = Order(
            id=order_id,
            customer_id=customer.id,
            customer=customer,
            state=state,
            placed_at=timeline.placed_at,
            updated_at=timeline.last_event,
            total=total,
            currency=CURRENCY,
            cancelled_at=timeline.cancelled_at,
            returned_at=timeline.returned_at,
            items=order_items,
        )
        if timeline.shipped_at is not None:
            carrier = carrier or self.rng.choice(CARRIERS)
            order.shipment = Shipment(
                order_id=order_id,
                carrier=carrier,
                tracking_number=tracking_number or self.tracking_number(carrier),
                shipped_at=timeline.shipped_at,
                estimated_delivery=timeline.estimated_delivery,
                delivered_at=timeline.delivered_at,
            )
        order.promise = DeliveryPromise(
            order_id=order_id, promised_by=extras.promised_delivery or promised_by(timeline)
        )
        self.summary.orders += 1
        self._add_billing(order, customer, timeline, duplicate_charge_after, extras)
        return order

    def _add_billing(
        self,
        order: Order,
        customer: Customer,
        timeline: Timeline,
        duplicate_charge_after: dt.timedelta | None,
        extras: OrderExtras,
    ) -> None:
        if timeline.paid_at is None:
            status, refunded_at = ("void" if timeline.cancelled_at else "open"), None
        elif timeline.cancelled_at or timeline.returned_at:
            status, refunded_at = "refunded", timeline.cancelled_at or timeline.returned_at
        else:
            status, refunded_at = "paid", None
        invoice = Invoice(
            id=self.new_invoice_id(),
            order_id=order.id,
            order=order,
            customer_id=customer.id,
            amount=order.total,
            currency=CURRENCY,
            issued_at=timeline.placed_at,
            status=status,
            refunded_at=refunded_at,
        )
        self.summary.invoices += 1
        brand, last4 = self.cards[customer.id]
        for number, (state, code, created_at) in enumerate(extras.payment_attempts, start=1):
            invoice.payment_attempts.append(
                PaymentAttempt(
                    id=f"pa_{invoice.id.lower()}_{number}",
                    invoice_id=invoice.id,
                    customer_id=customer.id,
                    amount=order.total,
                    currency=CURRENCY,
                    card_brand=brand,
                    card_last4=last4,
                    state=state,
                    decline_code=code,
                    created_at=created_at,
                )
            )
        if timeline.paid_at is None:
            return
        charge_times = [timeline.paid_at]
        if duplicate_charge_after is not None:
            charge_times.append(timeline.paid_at + duplicate_charge_after)
            self.summary.duplicate_charges.append(invoice.id)
        for created_at in charge_times:
            invoice.charges.append(
                Charge(
                    id=self.new_charge_id(),
                    invoice_id=invoice.id,
                    customer_id=customer.id,
                    amount=order.total,
                    currency=CURRENCY,
                    card_brand=brand,
                    card_last4=last4,
                    created_at=created_at,
                    description=f"{STORE_NAME} order #{order.id}",
                )
            )
            charge = invoice.charges[-1]
            invoice.payment_attempts.append(
                PaymentAttempt(
                    id="pa_" + charge.id[3:],
                    invoice_id=invoice.id,
                    customer_id=customer.id,
                    amount=charge.amount,
                    currency=CURRENCY,
                    card_brand=brand,
                    card_last4=last4,
                    state="succeeded",
                    created_at=created_at,
                )
            )
            self.summary.charges += 1
        if refunded_at is not None:
            invoice.refunds.append(
                seeded_refund(invoice, refunded_at, (brand, last4), extras.refund_state)
            )


def promised_by(timeline: Timeline) -> dt.datetime:
    """The promised delivery: the carrier's first estimate, or 5 days after the order."""
    if timeline.estimated_delivery is not None:
        return timeline.estimated_delivery
    return (timeline.placed_at + dt.timedelta(days=PROMISED_DAYS)).replace(
        hour=20, minute=0, second=0
    )


def seeded_refund(
    invoice: Invoice, refunded_at: dt.datetime, card: tuple[str, str], state: str | None
) -> Refund:
    """The refund of a refunded invoice: arrived by now unless ``state`` says otherwise."""
    expected = refunded_at + REFUND_ARRIVAL
    state = state or ("completed" if expected <= REFERENCE_TIME else "issued")
    return Refund(
        id="RF-" + invoice.id.removeprefix("INV-"),
        order_id=invoice.order_id,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        amount=invoice.amount,
        currency=invoice.currency,
        method="card",
        card_brand=card[0],
        card_last4=card[1],
        state=state,
        issued_at=refunded_at,
        expected_at=expected,
        completed_at=expected - dt.timedelta(days=1) if state == "completed" else None,
    )

"""Deterministic demo data: the same customers, orders and charges on every run.

Everything comes from ``random.Random(SEED)`` and is dated against
:data:`~sandbox.clock.REFERENCE_TIME`, never the wall clock, so two seedings give
identical rows. The first three customers are handcrafted personas that testers
and the docs rely on (see ``sandbox/README.md``); the rest is generated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sandbox.clock import REFERENCE_TIME, UTC
from sandbox.db import Database
from sandbox.models import (
    Base,
    Charge,
    Customer,
    CustomerAddress,
    Invoice,
    Order,
    OrderItem,
    Shipment,
)

logger = logging.getLogger(__name__)

SEED = 20261124
GENERATED_CUSTOMERS = 61
GENERATED_ORDERS = 248
DUPLICATE_CHARGES = 4  # generated ones, on top of persona Li Wei's
CURRENCY = "USD"
STORE_NAME = "Frontline Store"

#: The product catalog: SKU, name, unit price.
CATALOG: dict[str, tuple[str, Decimal]] = {
    sku: (name, Decimal(price))
    for sku, name, price in (
        ("FL-HP-100", "Aurora Wireless Headphones", "89.00"),
        ("FL-EB-110", "Pulse Wireless Earbuds", "59.90"),
        ("FL-SP-120", "Boom Mini Bluetooth Speaker", "39.95"),
        ("FL-CH-130", "USB-C Fast Charger 30W", "24.99"),
        ("FL-CB-131", "USB-C Cable 2 m", "9.99"),
        ("FL-PB-140", "PowerBank 10000 mAh", "34.50"),
        ("FL-KB-150", "Low-Profile Mechanical Keyboard", "119.00"),
        ("FL-MS-160", "Ergo Wireless Mouse", "44.90"),
        ("FL-MP-161", "Desk Mat XL", "19.90"),
        ("FL-WC-170", "1080p Webcam", "64.00"),
        ("FL-MN-180", "27-inch 4K Monitor", "329.00"),
        ("FL-ST-190", "Aluminium Laptop Stand", "49.00"),
        ("FL-HB-200", "7-port USB Hub", "29.99"),
        ("FL-SSD-210", "Portable SSD 1 TB", "99.90"),
        ("FL-SD-220", "microSD Card 128 GB", "18.49"),
        ("FL-LT-230", "Smart LED Desk Lamp", "54.00"),
        ("FL-BP-240", "Commuter Laptop Backpack", "79.00"),
        ("FL-SL-250", "Neoprene Laptop Sleeve 14-inch", "24.00"),
        ("FL-TH-260", "Insulated Travel Mug", "22.50"),
        ("FL-WB-270", "Steel Water Bottle 750 ml", "19.00"),
        ("FL-FT-280", "Fitness Tracker Band", "69.00"),
        ("FL-SW-290", "Smartwatch Series 5", "199.00"),
        ("FL-CS-300", "Phone Case, Clear", "14.99"),
        ("FL-SP-310", "Screen Protector 2-pack", "11.99"),
        ("FL-GM-320", "Wireless Gamepad", "54.99"),
    )
}

FIRST_NAMES = (
    "Ava", "Noah", "Mia", "Liam", "Sofia", "Ethan", "Amara", "Mateo", "Priya", "Lucas",
    "Chloe", "Kenji", "Fatima", "Diego", "Hannah", "Arjun", "Grace", "Tomás", "Zoe", "Malik",
    "Isla", "Yusuf", "Nora", "Felix", "Leila", "Oscar", "Ines", "Samuel", "Aisha", "Hugo",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Nguyen", "Johnson", "Okafor", "Kim", "Müller", "Rossi", "Patel",
    "Brown", "Silva", "Kowalski", "Cohen", "Tanaka", "Martin", "Hughes", "Ali", "Larsen",
    "Dubois", "Moreno", "Novak", "Reyes", "Schmidt", "O'Brien", "Haddad", "Fischer",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
AREA_CODES = ("212", "312", "415", "503", "512", "617", "646", "702", "206", "303", "404")
CARRIERS = ("UPS", "FedEx", "USPS", "DHL")
CARD_BRANDS = ("visa", "mastercard", "amex", "discover")
STREETS = (
    "Maple Ave", "Oak St", "Pine Rd", "Cedar Ln", "Elm St", "Lakeview Dr", "Hillcrest Rd",
    "Park Pl", "Sunset Blvd", "River Rd", "Main St", "Washington Ave", "Highland Ave",
)  # fmt: skip
CITIES = (
    ("Springfield", "IL"), ("Portland", "OR"), ("Austin", "TX"), ("Madison", "WI"),
    ("Denver", "CO"), ("Boston", "MA"), ("Seattle", "WA"), ("Atlanta", "GA"),
    ("Phoenix", "AZ"), ("Raleigh", "NC"), ("Columbus", "OH"), ("Tampa", "FL"),
)  # fmt: skip
TIER_WEIGHTS = (("bronze", 50), ("silver", 33), ("gold", 17))
STATE_WEIGHTS = (
    ("placed", 8),
    ("paid", 9),
    ("packed", 8),
    ("shipped", 14),
    ("delivered", 36),
    ("cancelled", 14),
    ("returned", 11),
)
#: How long ago (in hours) an order in each state was placed.
AGE_HOURS = {
    "placed": (0.1, 20),
    "paid": (1, 30),
    "packed": (10, 72),
    "shipped": (40, 150),
    "delivered": (150, 3600),
    "cancelled": (2, 3000),
    "returned": (600, 3600),
}


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
        return {
            "customers": self.customers,
            "orders": self.orders,
            "invoices": self.invoices,
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


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class _Builder:
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

        def later(start: dt.datetime, low_minutes: float, high_minutes: float) -> dt.datetime:
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
    ) -> Order:
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
        self.summary.orders += 1
        self._add_billing(order, customer, timeline, duplicate_charge_after)
        return order

    def _add_billing(
        self,
        order: Order,
        customer: Customer,
        timeline: Timeline,
        duplicate_charge_after: dt.timedelta | None,
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
        if timeline.paid_at is None:
            return
        charge_times = [timeline.paid_at]
        if duplicate_charge_after is not None:
            charge_times.append(timeline.paid_at + duplicate_charge_after)
            self.summary.duplicate_charges.append(invoice.id)
        brand, last4 = self.cards[customer.id]
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
            self.summary.charges += 1


def _add_personas(builder: _Builder) -> None:
    """The handcrafted demo customers (documented in ``sandbox/README.md``)."""
    jane = builder.add_customer(
        customer_id="C1001",
        name="Jane Doe",
        email="jane.doe@example.com",
        phone="+1 415 555 0134",
        zip_code="94107",
        tier="gold",
        slack_id="U0JANEDOE1",
        created_at=_at("2023-04-18T10:21:00Z"),
        card=("visa", "4242"),
        address="500 Howard St, Apt 4B, San Francisco, CA 94107",
    )
    builder.add_order(
        jane,
        order_id="482913",
        state="shipped",
        timeline=Timeline(
            placed_at=_at("2026-10-28T09:14:00Z"),
            paid_at=_at("2026-10-28T09:15:12Z"),
            packed_at=_at("2026-10-29T11:40:00Z"),
            shipped_at=_at("2026-10-30T16:20:00Z"),
            estimated_delivery=_at("2026-11-03T20:00:00Z"),
        ),
        items=[("FL-HP-100", 1), ("FL-CB-131", 2)],
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
    )
    builder.add_order(
        jane,
        order_id="482914",
        state="paid",
        timeline=Timeline(
            placed_at=_at("2026-10-31T18:02:00Z"), paid_at=_at("2026-10-31T18:03:30Z")
        ),
        items=[("FL-EB-110", 1)],
    )
    builder.add_order(
        jane,
        order_id="482915",
        state="delivered",
        timeline=Timeline(
            placed_at=_at("2026-10-05T13:30:00Z"),
            paid_at=_at("2026-10-05T13:31:05Z"),
            packed_at=_at("2026-10-06T08:10:00Z"),
            shipped_at=_at("2026-10-06T17:45:00Z"),
            estimated_delivery=_at("2026-10-09T20:00:00Z"),
            delivered_at=_at("2026-10-09T14:12:00Z"),
        ),
        items=[("FL-KB-150", 1), ("FL-MP-161", 1)],
        carrier="FedEx",
        tracking_number="612345678901",
    )
    builder.add_order(
        jane,
        order_id="482916",
        state="placed",
        timeline=Timeline(placed_at=_at("2026-11-01T09:30:00Z")),
        items=[("FL-LT-230", 1), ("FL-TH-260", 2)],
    )
    builder.add_order(
        jane,
        order_id="482917",
        state="cancelled",
        timeline=Timeline(
            placed_at=_at("2026-09-12T20:05:00Z"),
            paid_at=_at("2026-09-12T20:06:10Z"),
            cancelled_at=_at("2026-09-12T22:40:00Z"),
        ),
        items=[("FL-SW-290", 1)],
    )

    omar = builder.add_customer(
        customer_id="C1002",
        name="Omar Haddad",
        email="omar.haddad@example.com",
        phone="+1 212 555 0178",
        zip_code="10001",
        tier="silver",
        slack_id="U0OMARHADD",
        created_at=_at("2024-01-09T15:02:00Z"),
        card=("mastercard", "5454"),
        address="350 W 31st St, New York, NY 10001",
    )
    builder.add_order(
        omar,
        order_id="551200",
        state="packed",
        timeline=Timeline(
            placed_at=_at("2026-10-30T14:00:00Z"),
            paid_at=_at("2026-10-30T14:01:40Z"),
            packed_at=_at("2026-10-31T10:25:00Z"),
        ),
        items=[("FL-MN-180", 1)],
    )
    builder.add_order(
        omar,
        order_id="551201",
        state="delivered",
        timeline=Timeline(
            placed_at=_at("2026-10-20T08:45:00Z"),
            paid_at=_at("2026-10-20T08:46:00Z"),
            packed_at=_at("2026-10-21T09:00:00Z"),
            shipped_at=_at("2026-10-23T12:30:00Z"),
            estimated_delivery=_at("2026-10-27T20:00:00Z"),
            delivered_at=_at("2026-10-27T12:00:00Z"),  # 5 days before the reference
        ),
        items=[("FL-BP-240", 1), ("FL-SL-250", 1), ("FL-WB-270", 1)],
        carrier="USPS",
        tracking_number="9400111899223344556677",
    )
    builder.add_order(
        omar,
        order_id="551202",
        state="returned",
        timeline=Timeline(
            placed_at=_at("2026-09-02T19:10:00Z"),
            paid_at=_at("2026-09-02T19:11:00Z"),
            packed_at=_at("2026-09-03T10:00:00Z"),
            shipped_at=_at("2026-09-04T15:00:00Z"),
            estimated_delivery=_at("2026-09-08T20:00:00Z"),
            delivered_at=_at("2026-09-08T11:30:00Z"),
            returned_at=_at("2026-09-20T09:00:00Z"),
        ),
        items=[("FL-FT-280", 1)],
        carrier="UPS",
        tracking_number="1Z4E5F6A0398765432",
    )
    builder.add_order(
        omar,
        order_id="551203",
        state="paid",
        timeline=Timeline(
            placed_at=_at("2026-10-31T22:10:00Z"), paid_at=_at("2026-10-31T22:11:20Z")
        ),
        items=[("FL-GM-320", 2)],
    )

    li = builder.add_customer(
        customer_id="C1003",
        name="Li Wei",
        email="li.wei@example.net",
        phone="+1 312 555 0162",
        zip_code="60614",
        tier="bronze",
        slack_id="U0LIWEI003",
        created_at=_at("2025-06-30T12:00:00Z"),
        card=("amex", "0005"),
        address="2200 N Clark St, Chicago, IL 60614",
    )
    builder.add_order(
        li,
        order_id="630001",
        state="placed",
        timeline=Timeline(placed_at=_at("2026-11-01T07:45:00Z")),
        items=[("FL-PB-140", 1), ("FL-CH-130", 1)],
    )
    builder.add_order(
        li,
        order_id="630002",
        state="shipped",
        timeline=Timeline(
            placed_at=_at("2026-10-29T16:20:00Z"),
            paid_at=_at("2026-10-29T16:21:00Z"),
            packed_at=_at("2026-10-30T09:30:00Z"),
            shipped_at=_at("2026-10-31T13:05:00Z"),
            estimated_delivery=_at("2026-11-04T20:00:00Z"),
        ),
        items=[("FL-SSD-210", 1)],
        carrier="FedEx",
        tracking_number="798765432101",
    )
    builder.add_order(
        li,
        order_id="630003",
        state="delivered",
        timeline=Timeline(
            placed_at=_at("2026-10-12T11:00:00Z"),
            paid_at=_at("2026-10-12T11:01:30Z"),
            packed_at=_at("2026-10-13T08:00:00Z"),
            shipped_at=_at("2026-10-14T10:15:00Z"),
            estimated_delivery=_at("2026-10-17T20:00:00Z"),
            delivered_at=_at("2026-10-17T15:20:00Z"),
        ),
        items=[("FL-WC-170", 1), ("FL-ST-190", 1)],
        carrier="DHL",
        tracking_number="4839201756",
        duplicate_charge_after=dt.timedelta(seconds=47),
    )


def build_demo_data(seed: int = SEED) -> tuple[list[Customer], SeedSummary]:
    """Builds (without saving) the demo customers with their orders, invoices and charges.

    Args:
        seed: Seed of the random generator; the default gives the documented data.

    Returns:
        The customers (their orders, shipments, invoices and charges hang off them)
        and a summary of what was built.
    """
    builder = _Builder(random.Random(seed))
    _add_personas(builder)
    persona_orders = builder.summary.orders

    generated = [
        builder.generated_customer(number) for number in range(1004, 1004 + GENERATED_CUSTOMERS)
    ]
    # Every generated customer gets at least one order; the rest are spread at random.
    counts = [1] * len(generated)
    for _ in range(GENERATED_ORDERS - len(generated)):
        counts[builder.rng.randrange(len(generated))] += 1
    states, weights = zip(*STATE_WEIGHTS, strict=True)
    planned: list[tuple[Customer, str]] = []
    for customer, count in zip(generated, counts, strict=True):
        planned.extend((customer, builder.rng.choices(states, weights)[0]) for _ in range(count))
    duplicate_positions = set(
        builder.rng.sample(
            [i for i, (_, state) in enumerate(planned) if state in ("delivered", "shipped")],
            DUPLICATE_CHARGES,
        )
    )
    for position, (customer, state) in enumerate(planned):
        duplicate = (
            dt.timedelta(seconds=builder.rng.randint(20, 900))
            if position in duplicate_positions
            else None
        )
        builder.add_order(
            customer,
            order_id=builder.new_order_id(),
            state=state,
            timeline=builder.random_timeline(state),
            items=builder.random_items(),
            duplicate_charge_after=duplicate,
        )
    assert builder.summary.orders == persona_orders + GENERATED_ORDERS
    return builder.customers, builder.summary


Rows = dict[str, list[dict[str, Any]]]


def demo_rows(seed: int = SEED) -> tuple[Rows, SeedSummary]:
    """The demo data as plain rows, table by table (in foreign-key order).

    Args:
        seed: Seed of the random generator; the default gives the documented data.

    Returns:
        Rows keyed by table name, and a summary of what they hold.
    """
    customers, summary = build_demo_data(seed)
    rows: Rows = {table.name: [] for table in Base.metadata.sorted_tables}

    def add(obj: Base) -> None:
        mapper = sa.inspect(obj).mapper
        rows[mapper.local_table.name].append(
            {attr.key: getattr(obj, attr.key) for attr in mapper.column_attrs}
        )

    for customer in customers:
        add(customer)
        if customer.address is not None:
            add(customer.address)
        for order in customer.orders:
            add(order)
            for item in order.items:
                add(item)
            if order.shipment is not None:
                add(order.shipment)
            add(order.invoice)
            for charge in order.invoice.charges:
                add(charge)
    return rows, summary


@functools.lru_cache(maxsize=2)
def _cached_demo_rows(seed: int) -> tuple[Rows, SeedSummary]:
    # Rows are only read (executemany does not change them): reused by every reset.
    return demo_rows(seed)


def seed(session: Session, seed: int = SEED) -> SeedSummary:
    """Writes the demo data into empty tables (bulk inserts, table by table).

    Args:
        session: An open session; the caller commits.
        seed: Seed of the random generator.
    """
    rows, summary = _cached_demo_rows(seed)
    for table in Base.metadata.sorted_tables:
        if rows.get(table.name):
            session.execute(table.insert(), rows[table.name])
    logger.info(
        "sandbox seeded: %d customers, %d orders, %d charges",
        summary.customers,
        summary.orders,
        summary.charges,
    )
    return dataclasses.replace(summary, duplicate_charges=list(summary.duplicate_charges))


def is_empty(session: Session) -> bool:
    """Whether no customer exists yet."""
    return session.execute(sa.select(Customer.id).limit(1)).first() is None


def seed_if_empty(database: Database) -> SeedSummary | None:
    """Creates the tables and seeds them unless customers already exist.

    Returns:
        The summary when data was written, ``None`` when the database already had data.
    """
    database.create_tables()
    with database.session_scope() as session:
        if not is_empty(session):
            return None
        return seed(session)


def reset(database: Database) -> SeedSummary:
    """Drops every sandbox table (idempotency records included) and seeds afresh."""
    database.drop_tables()
    database.create_tables()
    with database.session_scope() as session:
        return seed(session)

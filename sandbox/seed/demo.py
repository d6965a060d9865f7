"""The demo data as a whole: building it, its rows, and writing it into a database.

Everything comes from ``random.Random(SEED)`` and is dated against
:data:`~sandbox.clock.REFERENCE_TIME`, never the wall clock, so two seedings give
identical rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import random
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sandbox.db import Database
from sandbox.models import Base, Customer
from sandbox.seed.builder import Builder, SeedSummary
from sandbox.seed.catalog import (
    DUPLICATE_CHARGES,
    GENERATED_CUSTOMERS,
    GENERATED_ORDERS,
    SEED,
    STATE_WEIGHTS,
)
from sandbox.seed.personas import add_personas

logger = logging.getLogger(__name__)


def build_demo_data(seed: int = SEED) -> tuple[list[Customer], SeedSummary]:
    """Builds (without saving) the demo customers with their orders, invoices and charges.

    Args:
        seed: Seed of the random generator; the default gives the documented data.

    Returns:
        The customers (their orders, shipments, invoices and charges hang off them)
        and a summary of what was built.
    """
    builder = Builder(random.Random(seed))
    add_personas(builder)
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
            add(order.promise)
            add(order.invoice)
            for child in (
                *order.invoice.charges,
                *order.invoice.payment_attempts,
                *order.invoice.refunds,
            ):
                add(child)
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

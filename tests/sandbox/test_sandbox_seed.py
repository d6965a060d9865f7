"""Demo data: deterministic, complete, and with the documented personas."""

from __future__ import annotations

import collections
import datetime as dt
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from sandbox import create_app
from sandbox.db import Database
from sandbox.models import (
    ORDER_STATES,
    Base,
    Charge,
    Customer,
    Invoice,
    Order,
    OrderItem,
    Shipment,
)
from sandbox.seed import demo_rows, reset, seed_if_empty

REFERENCE = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)


def _dump(database: Database) -> dict[str, list[tuple]]:
    """Every row of every sandbox table, in primary-key order."""
    dump: dict[str, list[tuple]] = {}
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            query = sa.select(table).order_by(*table.primary_key.columns)
            dump[table.name] = [tuple(row) for row in connection.execute(query)]
    return dump


@pytest.fixture
def seeded(sqlite_url: str):
    database = Database(sqlite_url)
    assert seed_if_empty(database) is not None
    yield database
    database.dispose()


def test_building_twice_gives_identical_rows() -> None:
    first_rows, first_summary = demo_rows()
    second_rows, second_summary = demo_rows()
    assert first_rows == second_rows
    assert first_summary == second_summary
    assert demo_rows(seed=1)[0] != first_rows  # the seed matters


def test_seeding_twice_gives_identical_data(tmp_path) -> None:
    first = Database(f"sqlite:///{tmp_path / 'a.db'}")
    second = Database(f"sqlite:///{tmp_path / 'b.db'}")
    reset(first)
    reset(second)
    assert _dump(first) == _dump(second)
    assert sum(len(rows) for rows in _dump(first).values()) > 1000
    first.dispose()
    second.dispose()


def test_postgresql_holds_the_same_data_as_sqlite(tmp_path, unit_pg_url: str) -> None:
    lite = Database(f"sqlite:///{tmp_path / 'a.db'}")
    postgres = Database(unit_pg_url)
    reset(lite)
    reset(postgres)
    assert _dump(postgres) == _dump(lite)
    lite.dispose()
    postgres.dispose()


def test_seed_if_empty_leaves_existing_data_alone(seeded: Database) -> None:
    with seeded.session_scope() as session:
        session.get(Order, "482914").state = "cancelled"
    assert seed_if_empty(seeded) is None
    with seeded.session_scope() as session:
        assert session.get(Order, "482914").state == "cancelled"
    reset(seeded)
    with seeded.session_scope() as session:
        assert session.get(Order, "482914").state == "paid"


def test_counts_and_states(seeded: Database) -> None:
    with seeded.session_scope() as session:
        customers = session.execute(sa.select(Customer)).scalars().all()
        orders = session.execute(sa.select(Order)).scalars().all()
        states = collections.Counter(order.state for order in orders)
        assert len(customers) >= 60
        assert len(orders) >= 240
        assert set(states) == set(ORDER_STATES), states
        assert all(count >= 3 for count in states.values()), states
        assert {customer.tier for customer in customers} == {"bronze", "silver", "gold"}


def test_generated_records_are_well_formed(seeded: Database) -> None:
    with seeded.session_scope() as session:
        customers = session.execute(sa.select(Customer)).scalars().all()
        emails = [customer.email.lower() for customer in customers]
        assert len(set(emails)) == len(emails)
        for customer in customers:
            assert re.fullmatch(r"C\d{4}", customer.id)
            assert re.fullmatch(r"\d{5}", customer.zip_code)
            assert re.fullmatch(r"U0[A-Z0-9]{8,}", customer.channel_ids["slack"])
            assert customer.channel_ids["web"] is None
            assert customer.created_at < REFERENCE

        for order in session.execute(sa.select(Order)).scalars():
            assert re.fullmatch(r"[1-9]\d{5}", order.id), order.id
            assert 1 <= len(order.items) <= 4
            assert order.total == sum(item.unit_price * item.quantity for item in order.items)
            assert order.currency == "USD"
            assert order.placed_at <= order.updated_at <= REFERENCE
            has_parcel = order.state in ("shipped", "delivered", "returned")
            assert (order.shipment is not None) == has_parcel, order.id
            if has_parcel:
                assert order.shipment.shipped_at >= order.placed_at
                assert (order.shipment.delivered_at is not None) == (order.state != "shipped")
            assert (order.cancelled_at is not None) == (order.state == "cancelled")
            assert (order.returned_at is not None) == (order.state == "returned")
            assert order.invoice is not None and order.invoice.amount == order.total
            assert order.invoice.id.startswith("INV-")

        for charge in session.execute(sa.select(Charge)).scalars():
            assert re.fullmatch(r"\d{4}", charge.card_last4)
            assert charge.card_brand in {"visa", "mastercard", "amex", "discover"}
            assert charge.amount == charge.invoice.amount
        assert "card_number" not in {column.name for column in Charge.__table__.columns}


def test_duplicate_charges_exist(seeded: Database) -> None:
    with seeded.session_scope() as session:
        charges_per_invoice = collections.Counter(
            session.execute(sa.select(Charge.invoice_id)).scalars()
        )
        duplicated = {invoice for invoice, count in charges_per_invoice.items() if count == 2}
        assert max(charges_per_invoice.values()) == 2
        assert len(duplicated) >= 3
        li_invoice = session.execute(
            sa.select(Invoice).where(Invoice.order_id == "630003")
        ).scalar_one()
        assert li_invoice.id in duplicated
        first, second = li_invoice.charges
        assert first.amount == second.amount == li_invoice.amount
        assert first.card_last4 == second.card_last4


def test_personas(seeded: Database) -> None:
    expected_orders = {
        "C1001": {
            "482913": "shipped",
            "482914": "paid",
            "482915": "delivered",
            "482916": "placed",
            "482917": "cancelled",
        },
        "C1002": {
            "551200": "packed",
            "551201": "delivered",
            "551202": "returned",
            "551203": "paid",
        },
        "C1003": {"630001": "placed", "630002": "shipped", "630003": "delivered"},
    }
    with seeded.session_scope() as session:
        jane = session.get(Customer, "C1001")
        assert (jane.name, jane.email, jane.zip_code, jane.phone, jane.tier) == (
            "Jane Doe",
            "jane.doe@example.com",
            "94107",
            "+1 415 555 0134",
            "gold",
        )
        assert jane.channel_ids == {"slack": "U0JANEDOE1", "web": None}
        omar = session.get(Customer, "C1002")
        assert (omar.name, omar.email, omar.zip_code, omar.tier) == (
            "Omar Haddad",
            "omar.haddad@example.com",
            "10001",
            "silver",
        )
        li = session.get(Customer, "C1003")
        assert (li.name, li.email, li.zip_code, li.tier) == (
            "Li Wei",
            "li.wei@example.net",
            "60614",
            "bronze",
        )
        for customer_id, orders in expected_orders.items():
            actual = {order.id: order.state for order in session.get(Customer, customer_id).orders}
            assert actual == orders

        shipped = session.get(Order, "482913")
        assert shipped.shipment.tracking_number and shipped.shipment.carrier
        delivered = session.get(Shipment, "551201").delivered_at
        assert delivered.date() == (REFERENCE - dt.timedelta(days=5)).date()


def test_money_is_exact(seeded: Database) -> None:
    with seeded.session_scope() as session:
        prices = session.execute(sa.select(OrderItem.unit_price)).scalars().all()
        assert all(isinstance(price, Decimal) for price in prices)
        assert Decimal("59.90") in prices
        assert all(price == price.quantize(Decimal("0.01")) for price in prices)


def test_create_app_is_lazy_and_uniquely_named(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'lazy.db'}"
    first, second = create_app(url), create_app(url)
    assert first.name != second.name
    assert first.ctx.db is second.ctx.db  # one engine per database per process
    assert first.ctx.db._engine is None  # nothing connected yet
    assert not (tmp_path / "lazy.db").exists()

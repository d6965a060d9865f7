"""What the CRM, order and billing stores share: prepared statements and JSON builders.

Reads are the hot path (the assistant looks orders up all the time), so they use
prepared Core statements on the tables, built once (SQLAlchemy caches their compiled
form); writes use the ORM and lock the rows they change (:func:`locked`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from sandbox import errors, models
from sandbox.errors import ApiError
from sandbox.serializers import JsonDict, invoice_json, order_json

_customers, _addresses, _orders, _items, _shipments, _invoices, _charges = (
    model.__table__
    for model in (
        models.Customer,
        models.CustomerAddress,
        models.Order,
        models.OrderItem,
        models.Shipment,
        models.Invoice,
        models.Charge,
    )
)

# Statements are built once; SQLAlchemy caches their compiled form.
CUSTOMERS_WITH_ADDRESS = sa.select(
    _customers, _addresses.c.address.label("shipping_address")
).select_from(_customers.outerjoin(_addresses, _addresses.c.customer_id == _customers.c.id))
CUSTOMER_BY_ID = CUSTOMERS_WITH_ADDRESS.where(_customers.c.id == sa.bindparam("customer_id"))
CUSTOMER_BY_EMAIL = CUSTOMERS_WITH_ADDRESS.where(_customers.c.email_key == sa.bindparam("email"))
CUSTOMER_EXISTS = sa.select(_customers.c.id).where(_customers.c.id == sa.bindparam("customer_id"))
ORDER_OWNER = sa.select(_orders.c.customer_id).where(_orders.c.id == sa.bindparam("order_id"))
ORDERS_WITH_SHIPMENT = sa.select(
    _orders,
    _shipments.c.carrier,
    _shipments.c.tracking_number,
    _shipments.c.shipped_at,
    _shipments.c.estimated_delivery,
    _shipments.c.delivered_at,
).select_from(_orders.outerjoin(_shipments, _shipments.c.order_id == _orders.c.id))
ORDER_BY_ID = ORDERS_WITH_SHIPMENT.where(_orders.c.id == sa.bindparam("order_id"))
ORDERS_OF_CUSTOMER = ORDERS_WITH_SHIPMENT.where(
    _orders.c.customer_id == sa.bindparam("customer_id")
).order_by(_orders.c.placed_at.desc(), _orders.c.id.desc())
ITEMS_OF_ORDERS = (
    sa.select(_items)
    .where(_items.c.order_id.in_(sa.bindparam("order_ids", expanding=True)))
    .order_by(_items.c.order_id, _items.c.position)
)
INVOICE_BY_ID = sa.select(_invoices).where(_invoices.c.id == sa.bindparam("invoice_id"))
INVOICES_OF_CUSTOMER = (
    sa.select(_invoices)
    .where(_invoices.c.customer_id == sa.bindparam("customer_id"))
    .order_by(_invoices.c.issued_at.desc(), _invoices.c.id.desc())
)
CHARGES_OF_INVOICES = (
    sa.select(_charges)
    .where(_charges.c.invoice_id.in_(sa.bindparam("invoice_ids", expanding=True)))
    .order_by(_charges.c.created_at, _charges.c.id)
)
CHARGES_OF_CUSTOMER = (
    sa.select(_charges, _invoices.c.order_id)
    .join(_invoices, _invoices.c.id == _charges.c.invoice_id)
    .where(_charges.c.customer_id == sa.bindparam("customer_id"))
    .order_by(_charges.c.created_at.desc(), _charges.c.id.desc())
)


def new_id(prefix: str, length: int = 16) -> str:
    return prefix + uuid.uuid4().hex[:length]


def normalize_email(email: str) -> str:
    """E-mails match case-insensitively and ignore surrounding blanks."""
    return email.strip().lower()


def normalize_zip(zip_code: str) -> str:
    """``"94107-1234"`` and ``" 94107 "`` both match ``"94107"``."""
    return zip_code.strip().split("-", 1)[0].strip()


def require_customer(session: Session, customer_id: str) -> None:
    if session.execute(CUSTOMER_EXISTS, {"customer_id": customer_id}).first() is None:
        raise errors.customer_not_found(customer_id)


def orders_json(session: Session, rows: Sequence[Row]) -> list[JsonDict]:
    """Orders (rows of :data:`ORDERS_WITH_SHIPMENT`) with their items."""
    items = _children(session, rows, ITEMS_OF_ORDERS, "order_ids", "order_id")
    return [order_json(row, items[row.id], row) for row in rows]


def invoices_json(session: Session, rows: Sequence[Row]) -> list[JsonDict]:
    """Invoices with their charges."""
    charges = _children(session, rows, CHARGES_OF_INVOICES, "invoice_ids", "invoice_id")
    return [invoice_json(row, charges[row.id]) for row in rows]


def _children(
    session: Session, parents: Sequence[Row], statement: sa.sql.Select, ids: str, parent: str
) -> dict[str, list[Any]]:
    """The rows ``statement`` finds for the ``parents``' ids (one query), by parent id."""
    found: dict[str, list[Any]] = defaultdict(list)
    if parents:
        for child in session.execute(statement, {ids: [row.id for row in parents]}):
            found[getattr(child, parent)].append(child)
    return found


def found_rows(
    session: Session, statement: sa.sql.Select, params: dict[str, Any], missing: ApiError
) -> Sequence[Row]:
    """The rows ``statement`` finds.

    Raises:
        ApiError: ``missing`` when it finds none.
    """
    rows = session.execute(statement, params).all()
    if not rows:
        raise missing
    return rows


def rows_of_customer(
    session: Session, statement: sa.sql.Select, customer_id: str, **params: Any
) -> Sequence[Row]:
    """The rows a customer's statement finds.

    Raises:
        ApiError: 404 ``customer_not_found`` when it finds none because there is no
            such customer.
    """
    rows = session.execute(statement, {"customer_id": customer_id, **params}).all()
    if not rows:
        require_customer(session, customer_id)
    return rows


def locked(session: Session, entity: Any, condition: Any) -> Any:
    """The one ``entity`` matching ``condition``, locked until the transaction ends; or None."""
    return session.execute(
        sa.select(entity).where(condition).with_for_update()
    ).scalar_one_or_none()


def newest_of_customer(session: Session, entity: Any, customer_id: str) -> list[Any]:
    """A customer's ``entity`` objects (disputes, password resets), newest first.

    Raises:
        ApiError: 404 ``customer_not_found``.
    """
    require_customer(session, customer_id)
    query = (
        sa.select(entity)
        .where(entity.customer_id == customer_id)
        .order_by(entity.created_at.desc(), entity.id.desc())
    )
    return list(session.execute(query).scalars())

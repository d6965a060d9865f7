"""Billing: invoices with their card charges, and disputes of a charge.

Cards appear as brand and last 4 digits only; a charge has at most one open dispute.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sandbox import errors
from sandbox.errors import ApiError
from sandbox.models import Charge, Dispute
from sandbox.serializers import JsonDict, charge_json, dispute_json
from sandbox.store import queries

logger = logging.getLogger(__name__)

#: What a dispute copies from the charge it disputes.
_FROM_THE_CHARGE = ("invoice_id", "customer_id", "amount", "currency")


def customer_invoices(session: Session, customer_id: str) -> list[JsonDict]:
    """A customer's invoices with their charges, newest first; 404 ``customer_not_found``."""
    rows = queries.rows_of_customer(session, queries.INVOICES_OF_CUSTOMER, customer_id)
    return queries.invoices_json(session, rows)


def get_invoice(session: Session, invoice_id: str) -> JsonDict:
    """One invoice with its charges; 404 ``invoice_not_found``."""
    missing = errors.invoice_not_found(invoice_id)
    rows = queries.found_rows(session, queries.INVOICE_BY_ID, {"invoice_id": invoice_id}, missing)
    return queries.invoices_json(session, rows)[0]


def customer_charges(session: Session, customer_id: str) -> list[JsonDict]:
    """A customer's card charges, newest first; 404 ``customer_not_found``."""
    rows = queries.rows_of_customer(session, queries.CHARGES_OF_CUSTOMER, customer_id)
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
    charge = queries.locked(session, Charge, Charge.id == charge_id)
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
        id=queries.new_id("dp_"),
        charge_id=charge.id,
        **{name: getattr(charge, name) for name in _FROM_THE_CHARGE},
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
    return [
        dispute_json(dispute)
        for dispute in queries.newest_of_customer(session, Dispute, customer_id)
    ]

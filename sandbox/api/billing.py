"""Billing: invoices, card charges (cards shown as brand and last 4 digits) and disputes."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from sandbox import idempotency
from sandbox.errors import invalid_request
from sandbox.models import DISPUTE_REASONS
from sandbox.store import billing as store
from sandbox.web import json_object, json_response, optional_str, read


async def customer_invoices(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /billing/customers/{customer_id}/invoices``: newest first, with charges."""
    return json_response({"invoices": await read(request, store.customer_invoices, customer_id)})


async def get_invoice(request: Request, invoice_id: str) -> HTTPResponse:
    """``GET /billing/invoices/{invoice_id}``: the invoice with its charges."""
    return json_response(await read(request, store.get_invoice, invoice_id))


async def customer_charges(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /billing/customers/{customer_id}/charges``: newest first."""
    return json_response({"charges": await read(request, store.customer_charges, customer_id)})


async def open_dispute(request: Request, charge_id: str) -> HTTPResponse:
    """``POST /billing/charges/{charge_id}/disputes``: the customer disputes a charge.

    Idempotent; needs an ``Idempotency-Key``. Body ``{"reason": "duplicate" |
    "unrecognized" | "other", "note": str|null}``.
    """
    idempotency.validate_key(request.headers.get(idempotency.KEY_HEADER))
    payload = json_object(request)
    reason = optional_str(payload, "reason", max_length=16)
    if reason not in DISPUTE_REASONS:
        raise invalid_request(f"Field 'reason' must be one of {', '.join(DISPUTE_REASONS)}.")
    note = optional_str(payload, "note", max_length=500)
    return await idempotency.write(
        request, payload, 201, store.open_dispute, charge_id, reason, note
    )


async def customer_disputes(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /billing/customers/{customer_id}/disputes``: newest first."""
    return json_response({"disputes": await read(request, store.customer_disputes, customer_id)})


def blueprint() -> Blueprint:
    """The billing routes, under ``/billing``."""
    bp = Blueprint("billing")
    for handler, path, method in (
        (customer_invoices, "/customers/<customer_id:str>/invoices", "GET"),
        (get_invoice, "/invoices/<invoice_id:str>", "GET"),
        (customer_charges, "/customers/<customer_id:str>/charges", "GET"),
        (customer_disputes, "/customers/<customer_id:str>/disputes", "GET"),
        (open_dispute, "/charges/<charge_id:str>/disputes", "POST"),
    ):
        bp.add_route(handler, f"/billing{path}", methods=[method])
    return bp

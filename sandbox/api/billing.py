"""Billing: invoices and card charges (cards shown as brand and last 4 digits)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from sandbox import store
from sandbox.web import in_thread, json_response


async def customer_invoices(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /billing/customers/{customer_id}/invoices``: newest first, with charges."""
    database = request.app.ctx.db

    def work() -> list[dict]:
        with database.session_scope() as session:
            return store.customer_invoices(session, customer_id)

    return json_response({"invoices": await in_thread(request, work)})


async def get_invoice(request: Request, invoice_id: str) -> HTTPResponse:
    """``GET /billing/invoices/{invoice_id}``: the invoice with its charges."""
    database = request.app.ctx.db

    def work() -> dict:
        with database.session_scope() as session:
            return store.get_invoice(session, invoice_id)

    return json_response(await in_thread(request, work))


async def customer_charges(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /billing/customers/{customer_id}/charges``: newest first."""
    database = request.app.ctx.db

    def work() -> list[dict]:
        with database.session_scope() as session:
            return store.customer_charges(session, customer_id)

    return json_response({"charges": await in_thread(request, work)})


def blueprint() -> Blueprint:
    """The billing routes."""
    bp = Blueprint("billing", url_prefix="/billing")
    bp.add_route(customer_invoices, "/customers/<customer_id:str>/invoices", methods=["GET"])
    bp.add_route(get_invoice, "/invoices/<invoice_id:str>", methods=["GET"])
    bp.add_route(customer_charges, "/customers/<customer_id:str>/charges", methods=["GET"])
    return bp

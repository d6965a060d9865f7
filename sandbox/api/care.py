"""What customers ask about after ordering: deliveries, refunds, payments, invoice copies."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from sandbox import idempotency
from sandbox.store import care as store
from sandbox.web import json_object, json_response, read


async def order_delivery(request: Request, order_id: str) -> HTTPResponse:
    """``GET /orders/{order_id}/delivery``: the promised date and the parcel."""
    return json_response(await read(request, store.order_delivery, order_id))


async def customer_refunds(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /billing/customers/{customer_id}/refunds``: newest first."""
    return json_response({"refunds": await read(request, store.customer_refunds, customer_id)})


async def customer_payments(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /billing/customers/{customer_id}/payments``: payment attempts, newest first."""
    return json_response({"payments": await read(request, store.customer_payments, customer_id)})


async def customer_invoice_emails(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /billing/customers/{customer_id}/invoice-emails``: copies sent, newest first."""
    sent = await read(request, store.customer_invoice_emails, customer_id)
    return json_response({"invoice_emails": sent})


async def email_invoice(request: Request, invoice_id: str) -> HTTPResponse:
    """``POST /billing/invoices/{invoice_id}/email``: a copy to the address on file.

    Idempotent; needs an ``Idempotency-Key``. The body, if any, must be a JSON object
    (no address can be given: the copy goes to the account's e-mail).
    """
    idempotency.validate_key(request.headers.get(idempotency.KEY_HEADER))
    payload = json_object(request, required=False)
    return await idempotency.write(request, payload, 201, store.email_invoice, invoice_id)


def blueprint() -> Blueprint:
    """The routes customers' follow-up questions need."""
    bp = Blueprint("care")
    for handler, path, method in (
        (order_delivery, "/orders/<order_id:str>/delivery", "GET"),
        (customer_refunds, "/billing/customers/<customer_id:str>/refunds", "GET"),
        (customer_payments, "/billing/customers/<customer_id:str>/payments", "GET"),
        (customer_invoice_emails, "/billing/customers/<customer_id:str>/invoice-emails", "GET"),
        (email_invoice, "/billing/invoices/<invoice_id:str>/email", "POST"),
    ):
        bp.add_route(handler, path, methods=[method])
    return bp

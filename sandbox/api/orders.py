"""Order management: orders, their cancellation and their return."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from sandbox import idempotency
from sandbox.store import orders as store
from sandbox.web import json_object, json_response, optional_str, read


async def customer_orders(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /crm/customers/{customer_id}/orders``: newest first."""
    return json_response({"orders": await read(request, store.customer_orders, customer_id)})


async def get_order(request: Request, order_id: str) -> HTTPResponse:
    """``GET /orders/{order_id}``."""
    return json_response(await read(request, store.get_order, order_id))


async def cancel_order(request: Request, order_id: str) -> HTTPResponse:
    """``POST /orders/{order_id}/cancel``: idempotent; needs an ``Idempotency-Key``."""
    return await _change(request, store.cancel_order, order_id)


async def return_order(request: Request, order_id: str) -> HTTPResponse:
    """``POST /orders/{order_id}/return``: authorises a return and refunds the payment.

    Idempotent; needs an ``Idempotency-Key``. Optional body ``{"reason": str|null}``.
    """
    return await _change(request, store.return_order, order_id)


async def _change(request: Request, change: Callable[..., Any], order_id: str) -> HTTPResponse:
    """A change of an order with an optional ``{"reason"}``, once per ``Idempotency-Key``."""
    idempotency.validate_key(request.headers.get(idempotency.KEY_HEADER))
    payload = json_object(request, required=False)
    reason = optional_str(payload, "reason", max_length=500)
    return await idempotency.write(request, payload, 200, change, order_id, reason)


def blueprint() -> Blueprint:
    """The order routes (the customer's order list sits under ``/crm``)."""
    bp = Blueprint("orders")
    bp.add_route(customer_orders, "/crm/customers/<customer_id:str>/orders", methods=["GET"])
    bp.add_route(get_order, "/orders/<order_id:str>", methods=["GET"])
    bp.add_route(cancel_order, "/orders/<order_id:str>/cancel", methods=["POST"])
    bp.add_route(return_order, "/orders/<order_id:str>/return", methods=["POST"])
    return bp

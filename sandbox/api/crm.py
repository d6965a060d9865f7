"""CRM: customer identity verification and customer records."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from sandbox import store
from sandbox.errors import invalid_request
from sandbox.web import in_thread, json_object, json_response, optional_str


async def verify(request: Request) -> HTTPResponse:
    """``POST /crm/verify``: is this person the customer they claim to be?

    The e-mail must belong to a customer, and either the order must be theirs or the
    ZIP code must match. A failure never says which part did not match.
    """
    payload = json_object(request)
    email = optional_str(payload, "email", max_length=254)
    order_id = optional_str(payload, "order_id", max_length=32, allow_int=True)
    zip_code = optional_str(payload, "zip_code", max_length=16)
    if email is None:
        raise invalid_request("Field 'email' is required.")
    if order_id is None and zip_code is None:
        raise invalid_request("Give 'order_id' or 'zip_code' to verify the customer.")
    database = request.app.ctx.db

    def work() -> dict | None:
        with database.session_scope() as session:
            return store.verify_customer(session, email, order_id, zip_code)

    customer = await in_thread(request, work)
    if customer is None:
        return json_response({"verified": False})
    return json_response({"verified": True, "customer": customer})


async def find_customers(request: Request) -> HTTPResponse:
    """``GET /crm/customers?email=...``: the customers with this e-mail."""
    email = (request.args.get("email") or "").strip()
    if not email:
        raise invalid_request("Query parameter 'email' is required.")
    database = request.app.ctx.db

    def work() -> list[dict]:
        with database.session_scope() as session:
            return store.find_customers(session, email)

    return json_response({"customers": await in_thread(request, work)})


async def get_customer(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /crm/customers/{customer_id}``."""
    database = request.app.ctx.db

    def work() -> dict:
        with database.session_scope() as session:
            return store.get_customer(session, customer_id)

    return json_response(await in_thread(request, work))


def blueprint() -> Blueprint:
    """The CRM routes."""
    bp = Blueprint("crm", url_prefix="/crm")
    bp.add_route(verify, "/verify", methods=["POST"])
    bp.add_route(find_customers, "/customers", methods=["GET"])
    bp.add_route(get_customer, "/customers/<customer_id:str>", methods=["GET"])
    return bp

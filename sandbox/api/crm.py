"""CRM: customer identity verification and customer records."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sqlalchemy.orm import Session

from sandbox import idempotency
from sandbox.clock import utcnow
from sandbox.errors import invalid_request
from sandbox.store import crm as store
from sandbox.web import json_object, json_response, optional_str, read

#: A channel name as the assistant reports it (``socketio``, ``slack``, ``rest``).
_CHANNEL_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")
DEFAULT_CONTACTS_LIMIT = 20
MAX_CONTACTS_LIMIT = 100


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
    customer = await read(request, store.verify_customer, email, order_id, zip_code)
    if customer is None:
        return json_response({"verified": False})
    return json_response({"verified": True, "customer": customer})


async def find_customers(request: Request) -> HTTPResponse:
    """``GET /crm/customers?email=...``: the customers with this e-mail."""
    email = (request.args.get("email") or "").strip()
    if not email:
        raise invalid_request("Query parameter 'email' is required.")
    return json_response({"customers": await read(request, store.find_customers, email)})


async def get_customer(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /crm/customers/{customer_id}``."""
    return json_response(await read(request, store.get_customer, customer_id))


def _contact_channel(value: str | None, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise invalid_request("Field 'channel' is required.")
        return None
    if not _CHANNEL_RE.match(value):
        raise invalid_request(
            "'channel' must be 1-32 lower-case letters, digits, '.', '_' or '-' "
            "starting with a letter."
        )
    return value


def _timestamp(payload: dict[str, Any], name: str) -> dt.datetime | None:
    """An optional ISO-8601 timestamp with a time zone (``2026-11-01T12:00:00Z``)."""
    text = optional_str(payload, name, max_length=40)
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError as exc:
        raise invalid_request(f"Field {name!r} must be an ISO-8601 timestamp.") from exc
    if moment.tzinfo is None:
        raise invalid_request(f"Field {name!r} needs a time zone (e.g. a trailing 'Z').")
    return moment.astimezone(dt.timezone.utc)


async def add_contact(request: Request, customer_id: str) -> HTTPResponse:
    """``POST /crm/customers/{customer_id}/contacts``: records a contact (idempotent).

    The body is ``{"channel": str, "conversation_id": str, "topic": str|null,
    "started_at": ISO-8601|null}``; the answer is 201 ``{"contact": {...}}``.
    """
    idempotency.validate_key(request.headers.get(idempotency.KEY_HEADER))
    payload = json_object(request)
    channel = _contact_channel(optional_str(payload, "channel", max_length=32), required=True)
    conversation_id = optional_str(payload, "conversation_id", max_length=255)
    if conversation_id is None:
        raise invalid_request("Field 'conversation_id' is required.")
    topic = optional_str(payload, "topic", max_length=100)
    started_at = _timestamp(payload, "started_at")

    def operation(session: Session) -> tuple[int, Any]:
        contact = store.add_contact(
            session,
            customer_id,
            channel=str(channel),
            conversation_id=conversation_id,
            topic=topic,
            started_at=started_at,
            now=utcnow(),
        )
        return 201, {"contact": contact}

    return await idempotency.respond(request, payload, operation)


async def customer_contacts(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /crm/customers/{customer_id}/contacts?limit=&channel=``: newest first."""
    raw_limit = request.args.get("limit")
    try:
        limit = DEFAULT_CONTACTS_LIMIT if raw_limit is None else int(raw_limit)
    except ValueError as exc:
        raise invalid_request("Query parameter 'limit' must be an integer.") from exc
    if not 1 <= limit <= MAX_CONTACTS_LIMIT:
        raise invalid_request(f"Query parameter 'limit' must be 1 to {MAX_CONTACTS_LIMIT}.")
    channel = _contact_channel(request.args.get("channel"), required=False)
    return json_response(
        {
            "contacts": await read(
                request, store.customer_contacts, customer_id, limit=limit, channel=channel
            )
        }
    )


async def erase_contacts(request: Request) -> HTTPResponse:
    """``DELETE /crm/contacts?customer_id=&conversation_id=``: erases contacts (one needed).

    The answer is ``{"deleted": <how many>}``; deleting again deletes nothing.
    """
    customer_id = request.args.get("customer_id") or None
    conversation_id = request.args.get("conversation_id") or None
    if customer_id is None and conversation_id is None:
        raise invalid_request("Give 'customer_id' or 'conversation_id'.")
    for name, value in (("customer_id", customer_id), ("conversation_id", conversation_id)):
        if value is not None and len(value) > 255:
            raise invalid_request(f"Query parameter {name!r} is too long.")
    return json_response(
        await read(
            request,
            store.erase_contacts,
            customer_id=customer_id,
            conversation_id=conversation_id,
        )
    )


#: Fields of a customer that ``PATCH /crm/customers/{id}`` may change.
CHANGEABLE_FIELDS = ("email", "phone", "shipping_address")


async def update_customer(request: Request, customer_id: str) -> HTTPResponse:
    """``PATCH /crm/customers/{customer_id}``: changes e-mail, phone and/or shipping address.

    Idempotent; needs an ``Idempotency-Key``. The body holds one or more of
    ``email``, ``phone`` and ``shipping_address``; the answer is
    ``{"customer": {...}, "changed": [<fields whose value changed>]}``.
    """
    idempotency.validate_key(request.headers.get(idempotency.KEY_HEADER))
    payload = json_object(request)
    unknown = sorted(set(payload) - set(CHANGEABLE_FIELDS))
    if unknown:
        raise invalid_request(f"Fields that cannot be changed: {', '.join(unknown)}.")
    changes = {
        name: value
        for name in CHANGEABLE_FIELDS
        if (value := optional_str(payload, name, max_length=300)) is not None
    }
    if not changes:
        raise invalid_request(f"Give at least one of {', '.join(CHANGEABLE_FIELDS)}.")
    return await idempotency.write(
        request, payload, 200, store.update_customer, customer_id, changes
    )


async def request_password_reset(request: Request, customer_id: str) -> HTTPResponse:
    """``POST /crm/customers/{customer_id}/password-resets``: e-mails a reset link.

    Idempotent; needs an ``Idempotency-Key``. Optional body ``{"requested_via": str}``;
    the answer is 201 ``{"password_reset": {...}}``.
    """
    idempotency.validate_key(request.headers.get(idempotency.KEY_HEADER))
    payload = json_object(request, required=False)
    requested_via = optional_str(payload, "requested_via", max_length=32) or "api"
    return await idempotency.write(
        request, payload, 201, store.request_password_reset, customer_id, requested_via
    )


async def password_resets(request: Request, customer_id: str) -> HTTPResponse:
    """``GET /crm/customers/{customer_id}/password-resets``: newest first."""
    return json_response(
        {"password_resets": await read(request, store.customer_password_resets, customer_id)}
    )


def blueprint() -> Blueprint:
    """The CRM routes."""
    bp = Blueprint("crm", url_prefix="/crm")
    bp.add_route(verify, "/verify", methods=["POST"])
    bp.add_route(find_customers, "/customers", methods=["GET"])
    bp.add_route(get_customer, "/customers/<customer_id:str>", methods=["GET"])
    bp.add_route(update_customer, "/customers/<customer_id:str>", methods=["PATCH"])
    bp.add_route(
        request_password_reset, "/customers/<customer_id:str>/password-resets", methods=["POST"]
    )
    bp.add_route(password_resets, "/customers/<customer_id:str>/password-resets", methods=["GET"])
    bp.add_route(add_contact, "/customers/<customer_id:str>/contacts", methods=["POST"])
    bp.add_route(customer_contacts, "/customers/<customer_id:str>/contacts", methods=["GET"])
    bp.add_route(erase_contacts, "/contacts", methods=["DELETE"])
    return bp

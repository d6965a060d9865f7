"""The CRM's records: customers, identity checks, contacts, password resets, account changes.

Identity checks never say which part failed; e-mail addresses match case-insensitively.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sandbox import errors
from sandbox.errors import ApiError
from sandbox.models import Contact, Customer, CustomerAddress, PasswordReset
from sandbox.serializers import JsonDict, contact_json, customer_json, password_reset_json
from sandbox.store.queries import (
    CUSTOMER_BY_EMAIL,
    CUSTOMER_BY_ID,
    ORDER_OWNER,
    locked,
    new_id,
    newest_of_customer,
    normalize_email,
    normalize_zip,
    require_customer,
    rows_of_customer,
)

logger = logging.getLogger(__name__)

_contacts = Contact.__table__

#: How long a password-reset link stays valid.
RESET_LINK_LIFETIME = dt.timedelta(hours=1)
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE_SHAPE = re.compile(r"^\+?[0-9][0-9 ().-]{6,30}$")
_ADDRESS_LENGTH = (5, 300)


def verify_customer(
    session: Session, email: str, order_id: str | None, zip_code: str | None
) -> JsonDict | None:
    """The customer owning ``email`` when the order is theirs or the ZIP code matches.

    Returns:
        The customer, or ``None`` without telling which check failed.
    """
    customer = session.execute(CUSTOMER_BY_EMAIL, {"email": normalize_email(email)}).first()
    if customer is None:
        return None
    if order_id is not None:
        owner = session.execute(ORDER_OWNER, {"order_id": order_id}).scalar()
        if owner == customer.id:
            return customer_json(customer, customer.shipping_address)
    if zip_code is not None and normalize_zip(zip_code) == customer.zip_code:
        return customer_json(customer, customer.shipping_address)
    return None


def get_customer(session: Session, customer_id: str) -> JsonDict:
    """One customer; 404 ``customer_not_found``."""
    customer = session.execute(CUSTOMER_BY_ID, {"customer_id": customer_id}).first()
    if customer is None:
        raise errors.customer_not_found(customer_id)
    return customer_json(customer, customer.shipping_address)


def find_customers(session: Session, email: str) -> list[JsonDict]:
    """The customers with this e-mail (case-insensitive): zero or one."""
    rows = session.execute(CUSTOMER_BY_EMAIL, {"email": normalize_email(email)}).all()
    return [customer_json(row, row.shipping_address) for row in rows]


def add_contact(
    session: Session,
    customer_id: str,
    *,
    channel: str,
    conversation_id: str,
    topic: str | None,
    started_at: dt.datetime | None,
    now: dt.datetime,
) -> JsonDict:
    """Records a contact of the customer; 404 ``customer_not_found``.

    Args:
        started_at: When the conversation started; ``now`` when not given.
    """
    require_customer(session, customer_id)
    contact = Contact(
        id=uuid.uuid4().hex,
        customer_id=customer_id,
        channel=channel,
        conversation_id=conversation_id,
        topic=topic,
        started_at=started_at or now,
        created_at=now,
    )
    session.add(contact)
    session.flush()
    logger.info("contact %s of customer %s recorded (%s)", contact.id, customer_id, channel)
    return contact_json(contact)


def customer_contacts(
    session: Session, customer_id: str, *, limit: int, channel: str | None = None
) -> list[JsonDict]:
    """A customer's contacts, newest first; 404 ``customer_not_found``."""
    query = sa.select(_contacts).where(_contacts.c.customer_id == sa.bindparam("customer_id"))
    if channel is not None:
        query = query.where(_contacts.c.channel == channel)
    query = query.order_by(
        _contacts.c.started_at.desc(), _contacts.c.created_at.desc(), _contacts.c.id
    ).limit(limit)
    return [contact_json(row) for row in rows_of_customer(session, query, customer_id)]


def erase_contacts(
    session: Session, *, customer_id: str | None = None, conversation_id: str | None = None
) -> JsonDict:
    """Deletes the contacts of a customer or of a conversation (a person's erasure).

    Returns:
        ``{"deleted": <how many>}``.
    """
    query = sa.delete(_contacts)
    if customer_id is not None:
        query = query.where(_contacts.c.customer_id == customer_id)
    if conversation_id is not None:
        query = query.where(_contacts.c.conversation_id == conversation_id)
    deleted = session.execute(query).rowcount or 0
    logger.info("%d contacts erased", deleted)
    return {"deleted": int(deleted)}


def request_password_reset(
    session: Session, customer_id: str, requested_via: str, now: dt.datetime
) -> JsonDict:
    """E-mails a password-reset link to the address on file and records it.

    Returns:
        ``{"password_reset": <the reset>}``.

    Raises:
        ApiError: 404 ``customer_not_found``.
    """
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise errors.customer_not_found(customer_id)
    reset = PasswordReset(
        id=new_id("pr_"),
        customer_id=customer.id,
        sent_to=customer.email,
        requested_via=requested_via,
        created_at=now,
        expires_at=now + RESET_LINK_LIFETIME,
    )
    session.add(reset)
    session.flush()
    logger.info("password reset link sent for customer %s", customer_id)
    return {"password_reset": password_reset_json(reset)}


def customer_password_resets(session: Session, customer_id: str) -> list[JsonDict]:
    """The reset links sent to a customer, newest first; 404 ``customer_not_found``."""
    resets = newest_of_customer(session, PasswordReset, customer_id)
    return [password_reset_json(reset) for reset in resets]


def update_customer(
    session: Session, customer_id: str, changes: dict[str, str], now: dt.datetime
) -> JsonDict:
    """Changes the e-mail, phone number and/or shipping address on an account.

    Args:
        changes: Any of ``email``, ``phone``, ``shipping_address`` with the new values.

    Returns:
        ``{"customer": <customer>, "changed": [<fields whose value changed>]}``.

    Raises:
        ApiError: 404 ``customer_not_found``; 400 ``invalid_request`` for a malformed
            value; 409 ``email_taken`` when another account has the e-mail address.
    """
    customer = locked(session, Customer, Customer.id == customer_id)
    if customer is None:
        raise errors.customer_not_found(customer_id)
    changed: list[str] = []
    if "email" in changes:
        email = changes["email"]
        if not _EMAIL_SHAPE.match(email):
            raise errors.invalid_request("Field 'email' is not an e-mail address.")
        key = normalize_email(email)
        if key != customer.email_key:
            taken = session.execute(CUSTOMER_BY_EMAIL, {"email": key}).first()
            if taken is not None:
                raise ApiError(409, "email_taken", "Another account uses this e-mail address.")
        if email != customer.email:
            customer.email, customer.email_key = email, key
            changed.append("email")
    if "phone" in changes:
        phone = changes["phone"]
        if not _PHONE_SHAPE.match(phone) or sum(c.isdigit() for c in phone) < 7:
            raise errors.invalid_request("Field 'phone' is not a phone number.")
        if phone != customer.phone:
            customer.phone = phone
            changed.append("phone")
    if "shipping_address" in changes:
        address = " ".join(changes["shipping_address"].split())
        if not _ADDRESS_LENGTH[0] <= len(address) <= _ADDRESS_LENGTH[1]:
            raise errors.invalid_request("Field 'shipping_address' must be 5-300 characters.")
        if customer.address is None:
            customer.address = CustomerAddress(address=address, updated_at=now)
            changed.append("shipping_address")
        elif customer.address.address != address:
            customer.address.address = address
            customer.address.updated_at = now
            changed.append("shipping_address")
    session.flush()
    logger.info("customer %s changed: %s", customer_id, ", ".join(changed) or "nothing")
    address_on_file = customer.address.address if customer.address is not None else None
    return {"customer": customer_json(customer, address_on_file), "changed": changed}

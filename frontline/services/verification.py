"""Identity verification: an e-mail plus an order number or the account's ZIP code.

Identity only ever comes from this check against the CRM, never from what the
customer merely typed: a customer who states an id is still verified.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any

from frontline.connectors import CrmClient
from frontline.errors import BackendError
from frontline.patterns import normalize_order_id, normalize_zip_code
from frontline.services.contacts import ContactContext, record_contact

logger = logging.getLogger(__name__)


class VerificationStatus(str, enum.Enum):
    VERIFIED = "verified"
    MISMATCH = "mismatch"
    LOCKED = "locked"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class VerificationResult:
    """What one verification attempt concluded.

    Attributes:
        status: verified, mismatch (try again), locked (too many failures, hand off)
            or unavailable (the CRM could not answer; hand off).
        attempts: failed attempts so far, this one included.
        attempts_left: failed attempts still allowed.
        customer: the CRM record when verified.
        verified_order_id: the order number that proved identity, if one did.
    """

    status: VerificationStatus
    attempts: int
    attempts_left: int
    customer: dict[str, Any] | None = None
    verified_order_id: str | None = None


def classify_secret(secret: object) -> tuple[str, str] | None:
    """Tells whether ``secret`` is an order number or a ZIP code.

    Returns:
        ``("order_id", "482913")`` or ``("zip_code", "94107")``, or None.
    """
    order_id = normalize_order_id(secret)
    if order_id:
        return "order_id", order_id
    zip_code = normalize_zip_code(secret)
    if zip_code:
        return "zip_code", zip_code
    return None


async def verify_identity(
    crm: CrmClient,
    email: str,
    secret: str,
    *,
    previous_attempts: int,
    max_attempts: int,
    contact: ContactContext | None = None,
) -> VerificationResult:
    """Checks the e-mail and the order number or ZIP code against the CRM.

    Args:
        crm: CRM connector.
        email: normalised e-mail address.
        secret: order number or ZIP code, as validated by ``classify_secret``.
        previous_attempts: failed attempts earlier in this conversation.
        max_attempts: failed attempts allowed by the escalation policy.
        contact: where the conversation takes place; once the customer is verified
            it is recorded in their contact history (best effort, once per session).
    """
    kind, value = classify_secret(secret) or ("", "")
    try:
        customer = await crm.verify_customer(
            email,
            order_id=value if kind == "order_id" else None,
            zip_code=value if kind == "zip_code" else None,
        )
    except BackendError as exc:
        logger.warning("Verification could not reach the CRM: %s", exc)
        return VerificationResult(
            VerificationStatus.UNAVAILABLE,
            attempts=previous_attempts,
            attempts_left=max(max_attempts - previous_attempts, 0),
        )
    if customer and kind:
        if contact is not None and customer.get("id"):
            await record_contact(crm, str(customer["id"]), contact)
        return VerificationResult(
            VerificationStatus.VERIFIED,
            attempts=previous_attempts,
            attempts_left=max(max_attempts - previous_attempts, 0),
            customer=customer,
            verified_order_id=value if kind == "order_id" else None,
        )
    attempts = previous_attempts + 1
    status = VerificationStatus.LOCKED if attempts >= max_attempts else VerificationStatus.MISMATCH
    return VerificationResult(
        status, attempts=attempts, attempts_left=max(max_attempts - attempts, 0)
    )

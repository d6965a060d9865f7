"""Password reset: a link e-mailed to the address on file, after verification and a yes.

The assistant never shows the full address (``j***@example.com``) and never sends the
link anywhere else: the CRM sends it to the address it holds.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime

from frontline.audit.store import AuditStore
from frontline.audit.writes import record_write
from frontline.connectors import CrmClient
from frontline.errors import BackendError
from frontline.masking import mask_email
from frontline.policy import Policies
from frontline.services.guardrails import WriteCheck, WriteContext, check_write

logger = logging.getLogger(__name__)


class ResetOutcome(str, enum.Enum):
    SENT = "sent"
    KEPT = "kept"  # the customer said no: nothing sent
    UNAVAILABLE = "unavailable"
    NEEDS_HUMAN = "needs_human"  # the guardrail refused the write (policies/)


RESET_OPERATION = "password_reset"

RESET_RESPONSES = {
    ResetOutcome.SENT: "utter_password_reset_sent",
    ResetOutcome.KEPT: "utter_password_reset_kept",
    ResetOutcome.UNAVAILABLE: "utter_backend_error",
    ResetOutcome.NEEDS_HUMAN: "utter_write_needs_human",
}


@dataclass(frozen=True)
class ResetResult:
    outcome: ResetOutcome
    variables: dict[str, str] = field(default_factory=dict)
    #: The guardrail's verdict, when a write was considered.
    check: WriteCheck | None = None

    @property
    def response(self) -> str:
        return RESET_RESPONSES[self.outcome]


async def email_on_file(crm: CrmClient, customer_id: str) -> str | None:
    """The masked e-mail address the link would go to, or None if the CRM cannot answer."""
    try:
        customer = await crm.get_customer(customer_id)
    except BackendError as exc:
        logger.warning("Could not read customer %s: %s", customer_id, exc)
        return None
    return mask_email(customer.get("email"))


def _minutes_valid(reset: dict, fallback: int = 60) -> int:
    try:
        created = datetime.fromisoformat(str(reset["created_at"]).replace("Z", "+00:00"))
        expires = datetime.fromisoformat(str(reset["expires_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return fallback
    return max(int((expires - created).total_seconds() // 60), 1)


async def send_reset_link(
    crm: CrmClient,
    *,
    customer_id: str,
    confirmed: bool,
    idempotency_key: str,
    context: WriteContext,
    rules: Policies | None = None,
    audit: AuditStore | None = None,
) -> ResetResult:
    """Has the CRM e-mail a reset link if the customer said yes (once per key).

    Right before the write the guardrail (policies/) checks verification, consent and
    scope (e.g. no password resets over a shared channel); a refusal comes back as
    ``NEEDS_HUMAN`` with ``check`` naming the rule. Both are audited.
    """
    if not confirmed:
        return ResetResult(ResetOutcome.KEPT)
    check = check_write(RESET_OPERATION, context, subject=customer_id, rules=rules)
    if check.allowed:
        result = await _send(crm, customer_id, idempotency_key)
        result = ResetResult(result.outcome, result.variables, check)
    else:
        result = ResetResult(ResetOutcome.NEEDS_HUMAN, check=check)
    await record_write(
        audit, context, check, idempotency_key=idempotency_key, outcome=result.outcome.value
    )
    return result


async def _send(crm: CrmClient, customer_id: str, idempotency_key: str) -> ResetResult:
    """The write itself: the CRM sends the link to the address on file."""
    try:
        reset = await crm.request_password_reset(customer_id, idempotency_key=idempotency_key)
    except BackendError as exc:
        logger.warning("Password reset for %s failed: %s", customer_id, exc)
        return ResetResult(ResetOutcome.UNAVAILABLE)
    return ResetResult(
        ResetOutcome.SENT,
        {
            "email": mask_email(reset.get("sent_to")) or "the address on your account",
            "minutes": str(_minutes_valid(reset)),
        },
    )

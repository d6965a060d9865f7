"""Password reset: a link e-mailed to the address on file, after verification and a yes.

The assistant never shows the full address (``j***@example.com``) and never sends the
link anywhere else: the CRM sends it to the address it holds.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from frontline.audit.store import AuditStore
from frontline.connectors import CrmClient
from frontline.errors import BackendError
from frontline.masking import mask_email
from frontline.policy import Policies
from frontline.services.guardrails import WriteCheck, WriteContext
from frontline.writes import (
    WritePath,
    WriteRequest,
    WriteResult,
    WriteStatus,
    flag_refusal_response,
)

logger = logging.getLogger(__name__)


class ResetOutcome(str, enum.Enum):
    SENT = "sent"
    KEPT = "kept"  # the customer said no: nothing sent
    UNAVAILABLE = "unavailable"
    NEEDS_HUMAN = "needs_human"  # the guardrail refused the write (policies/)
    UNKNOWN = "outcome_unknown"  # timed out, and the replay could not confirm it


RESET_OPERATION = "password_reset"

RESET_RESPONSES = {
    ResetOutcome.SENT: "utter_password_reset_sent",
    ResetOutcome.KEPT: "utter_password_reset_kept",
    ResetOutcome.UNAVAILABLE: "utter_backend_error",
    ResetOutcome.NEEDS_HUMAN: "utter_write_needs_human",
    ResetOutcome.UNKNOWN: "utter_write_outcome_unknown",
}


@dataclass(frozen=True)
class ResetResult:
    outcome: ResetOutcome
    variables: dict[str, str] = field(default_factory=dict)
    #: The guardrail's verdict, when a write was considered.
    check: WriteCheck | None = None
    #: What the write path did (None when no write was considered).
    write: WriteResult | None = None

    @property
    def response(self) -> str:
        return flag_refusal_response(self.write) or RESET_RESPONSES[self.outcome]


async def email_on_file(crm: CrmClient, customer_id: str | None) -> str | None:
    """The masked e-mail address the link would go to, or None if the CRM cannot answer."""
    if not customer_id:  # nobody verified server-side: nothing is read
        return None
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
    customer_id: str | None,
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
    written = await WritePath(rules, audit).execute(
        WriteRequest(
            RESET_OPERATION,
            context,
            customer_id=customer_id,
            subject=customer_id,
            idempotency_key=idempotency_key,
            perform=lambda key: crm.request_password_reset(customer_id or "", idempotency_key=key),
            outcome_of=lambda w: _sent(w).outcome.value,
        )
    )
    return replace(_sent(written), check=written.check, write=written)


def _sent(written: WriteResult) -> ResetResult:
    """What the write path's result means: the CRM sent the link to the address on file."""
    if written.status is WriteStatus.REFUSED:
        return ResetResult(ResetOutcome.NEEDS_HUMAN)
    if written.status is WriteStatus.OUTCOME_UNKNOWN:
        return ResetResult(ResetOutcome.UNKNOWN)
    reset = written.answer
    if written.status is not WriteStatus.DONE or reset is None:
        logger.warning("Password reset failed: %s", written.error)
        return ResetResult(ResetOutcome.UNAVAILABLE)
    reset = dict(reset.get("password_reset") or reset)
    return ResetResult(
        ResetOutcome.SENT,
        {
            "email": mask_email(reset.get("sent_to")) or "the address on your account",
            "minutes": str(_minutes_valid(reset)),
        },
    )

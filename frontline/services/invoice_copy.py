"""Invoice copies: billing e-mails an invoice to the address on file (one backend write).

Which invoice: the one of the order the customer named, else the newest. The write
goes the way every write goes: the guardrail (verified, in scope, declared as
``send_invoice_copy`` in ``policies/escalation.yml``), then billing's idempotent call
with a key per conversation and invoice, then the audit record. The copy goes only to
the e-mail on the account, never to an address typed in the conversation.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any

from frontline.audit.store import AuditStore
from frontline.audit.writes import record_write
from frontline.connectors import BillingClient
from frontline.errors import BackendError
from frontline.masking import mask_email
from frontline.policy import Policies
from frontline.services.guardrails import WriteCheck, WriteContext, check_write
from frontline.services.orders import format_money, idempotency_key

logger = logging.getLogger(__name__)

INVOICE_COPY_OPERATION = "send_invoice_copy"


class InvoiceCopyOutcome(str, enum.Enum):
    SENT = "sent"
    NO_INVOICE = "no_invoice"  # nothing to send (or no invoice for the order named)
    UNAVAILABLE = "unavailable"
    NEEDS_HUMAN = "needs_human"  # the guardrail refused the write


RESPONSES = {
    InvoiceCopyOutcome.SENT: "utter_invoice_copy_sent",
    InvoiceCopyOutcome.NO_INVOICE: "utter_invoice_copy_none",
    InvoiceCopyOutcome.UNAVAILABLE: "utter_backend_error",
    InvoiceCopyOutcome.NEEDS_HUMAN: "utter_write_needs_human",
}


@dataclass(frozen=True)
class InvoiceCopyResult:
    outcome: InvoiceCopyOutcome
    variables: dict[str, str] = field(default_factory=dict)
    check: WriteCheck | None = None
    idempotency_key: str | None = None

    @property
    def response(self) -> str:
        return RESPONSES[self.outcome]


def choose_invoice(invoices: list[dict[str, Any]], order_id: str | None) -> dict[str, Any] | None:
    """The invoice of ``order_id`` if named (None if it has none), else the newest."""
    if order_id:
        return next((i for i in invoices if str(i.get("order_id")) == str(order_id)), None)
    return invoices[0] if invoices else None


async def send_invoice_copy(
    billing: BillingClient,
    *,
    customer_id: str,
    order_id: str | None,
    context: WriteContext,
    rules: Policies | None = None,
    audit: AuditStore | None = None,
) -> InvoiceCopyResult:
    """E-mails the chosen invoice to the address on file, once per conversation and invoice.

    Args:
        order_id: The order the customer named, if any.
        context: The conversation (its id makes the idempotency key).
    """
    try:
        invoices = await billing.list_invoices(customer_id)
    except BackendError as exc:
        logger.warning("Could not list invoices: %s", exc)
        return InvoiceCopyResult(InvoiceCopyOutcome.UNAVAILABLE)
    invoice = choose_invoice(invoices, order_id)
    if invoice is None:
        return InvoiceCopyResult(InvoiceCopyOutcome.NO_INVOICE, {"order_id": order_id or "-"})
    invoice_id = str(invoice["id"])
    key = idempotency_key(context.conversation_id, "send-invoice-copy", invoice_id)
    variables = {
        "invoice_id": invoice_id,
        "order_id": str(invoice.get("order_id")),
        "amount": format_money(invoice.get("amount"), invoice.get("currency")),
        "invoice_status": str(invoice.get("status")),
    }
    check = check_write(INVOICE_COPY_OPERATION, context, subject=invoice_id, rules=rules)
    if not check.allowed:
        result = InvoiceCopyResult(InvoiceCopyOutcome.NEEDS_HUMAN, variables, check, key)
    else:
        try:
            sent = await billing.email_invoice(invoice_id, idempotency_key=key)
        except BackendError as exc:
            logger.warning("Invoice copy of %s failed: %s", invoice_id, exc)
            result = InvoiceCopyResult(InvoiceCopyOutcome.UNAVAILABLE, variables, check, key)
        else:
            email = mask_email(sent.get("sent_to")) or "the address on your account"
            result = InvoiceCopyResult(
                InvoiceCopyOutcome.SENT, variables | {"email": email}, check, key
            )
    await record_write(
        audit,
        context,
        check,
        idempotency_key=key,
        outcome=result.outcome.value,
        details={"invoice_id": invoice_id, "order_id": variables["order_id"]},
    )
    return result

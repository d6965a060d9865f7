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
from frontline.connectors import BillingClient
from frontline.errors import BackendError
from frontline.masking import mask_email
from frontline.policy import Policies
from frontline.services.guardrails import WriteCheck, WriteContext
from frontline.services.orders import format_money, idempotency_key
from frontline.vocabulary import Write
from frontline.writes import WritePath, WriteRequest, WriteResult, WriteStatus

logger = logging.getLogger(__name__)

INVOICE_COPY_OPERATION = Write.SEND_INVOICE_COPY


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
    #: The write path's result, when a write was considered.
    write: WriteResult | None = None

    @property
    def response(self) -> str:
        if self.write is not None and self.write.response is not None:
            return self.write.response
        return RESPONSES[self.outcome]


def _outcome(written: WriteResult) -> InvoiceCopyOutcome:
    if written.status is WriteStatus.REFUSED:
        return InvoiceCopyOutcome.NEEDS_HUMAN
    if written.status is WriteStatus.DONE and written.answer is not None:
        return InvoiceCopyOutcome.SENT
    return InvoiceCopyOutcome.UNAVAILABLE


def choose_invoice(invoices: list[dict[str, Any]], order_id: str | None) -> dict[str, Any] | None:
    """The invoice of ``order_id`` if named (None if it has none), else the newest."""
    if order_id:
        return next((i for i in invoices if str(i.get("order_id")) == str(order_id)), None)
    return invoices[0] if invoices else None


async def send_invoice_copy(
    billing: BillingClient,
    *,
    customer_id: str | None,
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
    if not customer_id:
        # Nobody verified server-side: the write path refuses (and audits) the request.
        return await _write(
            billing, None, "-", {"order_id": order_id or "-"}, context, rules, audit
        )
    try:
        invoices = await billing.list_invoices(customer_id)
    except BackendError as exc:
        logger.warning("Could not list invoices: %s", exc)
        return InvoiceCopyResult(InvoiceCopyOutcome.UNAVAILABLE)
    invoice = choose_invoice(invoices, order_id)
    if invoice is None:
        return InvoiceCopyResult(InvoiceCopyOutcome.NO_INVOICE, {"order_id": order_id or "-"})
    invoice_id = str(invoice["id"])
    variables = {
        "invoice_id": invoice_id,
        "order_id": str(invoice.get("order_id")),
        "amount": format_money(invoice.get("amount"), invoice.get("currency")),
        "invoice_status": str(invoice.get("status")),
    }
    return await _write(billing, customer_id, invoice_id, variables, context, rules, audit)


async def _write(
    billing: BillingClient,
    customer_id: str | None,
    invoice_id: str,
    variables: dict[str, str],
    context: WriteContext,
    rules: Policies | None,
    audit: AuditStore | None,
) -> InvoiceCopyResult:
    """The write itself, through the write path (guardrails, idempotency key, audit)."""
    key = idempotency_key(context.conversation_id, "send-invoice-copy", invoice_id)
    written = await WritePath(rules, audit).execute(
        WriteRequest(
            INVOICE_COPY_OPERATION,
            context,
            customer_id=customer_id,
            subject=invoice_id,
            idempotency_key=key,
            perform=lambda k: billing.email_invoice(invoice_id, idempotency_key=k),
            details={"invoice_id": invoice_id, "order_id": variables["order_id"]},
            outcome_of=lambda w: _outcome(w).value,
        )
    )
    outcome = _outcome(written)
    if outcome is InvoiceCopyOutcome.SENT and written.answer is not None:
        sent = dict(written.answer.get("invoice_email") or written.answer)
        variables["email"] = mask_email(sent.get("sent_to")) or "the address on your account"
    return InvoiceCopyResult(outcome, variables, written.check, key, written)

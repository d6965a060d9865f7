"""Billing questions: recent invoices, what a charge was for, and charges made twice.

Cards are only ever described by brand and last four digits. A duplicate charge is
never refunded by the assistant: it opens a dispute (after the customer's yes) and
hands the conversation to the billing team with the details.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from frontline.audit.store import AuditStore
from frontline.connectors import BillingClient, OrdersClient
from frontline.errors import BackendError, BackendRejected
from frontline.policy import Policies
from frontline.services.guardrails import WriteCheck, WriteContext
from frontline.services.orders import describe_items, format_date, format_money
from frontline.services.returns import card_phrase
from frontline.writes import (
    WritePath,
    WriteRequest,
    WriteResult,
    WriteStatus,
    flag_refusal_response,
)

logger = logging.getLogger(__name__)

MAX_INVOICES_SHOWN = 5
MAX_CHARGES_OFFERED = 4
#: Two charges of the same amount on one invoice within this many hours are a duplicate.
DUPLICATE_WITHIN_HOURS = 24

_AMOUNT_RE = re.compile(r"(\d{1,7}(?:[.,]\d{1,2})?)")

INVOICE_STATUS_WORDS = {
    "open": "not paid yet",
    "paid": "paid",
    "refunded": "refunded",
    "void": "cancelled, nothing charged",
}


def parse_amount(value: object) -> Decimal | None:
    """``"$59.90"``, ``"59,90 dollars"``, ``"59.9"`` -> ``Decimal("59.90")``; else None."""
    if value is None:
        return None
    match = _AMOUNT_RE.search(str(value).replace(" ", ""))
    if not match:
        return None
    try:
        amount = Decimal(match.group(1).replace(",", "."))
    except InvalidOperation:
        return None
    return amount.quantize(Decimal("0.01")) if amount > 0 else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _card(record: dict[str, Any]) -> str:
    return card_phrase(record.get("card_brand"), record.get("card_last4")) or "your card"


class BillingStatus(str, enum.Enum):
    FOUND = "found"
    NONE = "none"
    UNAVAILABLE = "unavailable"


# -- invoices --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceListing:
    status: BillingStatus
    lines: list[str] = field(default_factory=list)

    @property
    def response(self) -> str:
        return {
            BillingStatus.FOUND: "utter_invoices",
            BillingStatus.NONE: "utter_no_invoices",
            BillingStatus.UNAVAILABLE: "utter_backend_error",
        }[self.status]


def invoice_line(invoice: dict[str, Any]) -> str:
    """``"INV-100003 · 5 Oct · $138.90 · paid (Visa card ending 4242) · order 482915"``."""
    status = INVOICE_STATUS_WORDS.get(invoice.get("status", ""), invoice.get("status", ""))
    charges = invoice.get("charges") or []
    paid_with = f" ({_card(charges[0])})" if charges and invoice.get("status") == "paid" else ""
    issued = format_date(invoice.get("issued_at")) or "-"
    amount = format_money(invoice.get("amount"), invoice.get("currency"))
    return (
        f"{invoice['id']} · {issued} · {amount} · {status}{paid_with} · "
        f"order {invoice.get('order_id')}"
    )


async def recent_invoices(
    billing: BillingClient, customer_id: str | None, limit: int = MAX_INVOICES_SHOWN
) -> InvoiceListing:
    """The customer's newest invoices, one line each."""
    if not customer_id:  # nobody verified server-side: nothing is read
        return InvoiceListing(BillingStatus.NONE)
    try:
        invoices = await billing.list_invoices(customer_id)
    except BackendError as exc:
        logger.warning("Could not list invoices: %s", exc)
        return InvoiceListing(BillingStatus.UNAVAILABLE)
    if not invoices:
        return InvoiceListing(BillingStatus.NONE)
    return InvoiceListing(BillingStatus.FOUND, [invoice_line(i) for i in invoices[:limit]])


# -- explaining a charge ---------------------------------------------------------------------


def charge_button(charge: dict[str, Any]) -> dict[str, str]:
    """A quick reply that names one charge by its amount."""
    amount = format_money(charge.get("amount"), charge.get("currency"))
    day = format_date(charge.get("created_at")) or ""
    return {
        "title": f"{amount} · {day} · {_card(charge)}",
        "payload": f'/inform{{"amount": "{charge.get("amount")}"}}',
    }


async def recent_charges(billing: BillingClient, customer_id: str | None) -> list[dict[str, Any]]:
    """The customer's newest charges (empty when billing cannot answer)."""
    if not customer_id:  # nobody verified server-side: nothing is read
        return []
    try:
        return (await billing.list_charges(customer_id))[:MAX_CHARGES_OFFERED]
    except BackendError as exc:
        logger.warning("Could not list charges: %s", exc)
        return []


@dataclass(frozen=True)
class ChargeExplanation:
    status: BillingStatus
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def response(self) -> str:
        return {
            BillingStatus.FOUND: "utter_charge_explained",
            BillingStatus.NONE: "utter_charge_not_found",
            BillingStatus.UNAVAILABLE: "utter_backend_error",
        }[self.status]


async def explain_charge(
    billing: BillingClient, orders: OrdersClient, customer_id: str | None, amount_text: str
) -> ChargeExplanation:
    """What the customer's charge(s) of this amount were for.

    Every charge of the amount is explained (a charge made twice shows twice); the
    items come from the order of the charge's invoice.
    """
    amount = parse_amount(amount_text)
    shown = format_money(amount, "USD") if amount is not None else str(amount_text)
    if not customer_id:  # nobody verified server-side: nothing is read
        return ChargeExplanation(
            BillingStatus.NONE, {"amount": shown, "recent_charges": "none in the last months"}
        )
    try:
        charges = await billing.list_charges(customer_id)
    except BackendError as exc:
        logger.warning("Could not list charges: %s", exc)
        return ChargeExplanation(BillingStatus.UNAVAILABLE)
    matching = [c for c in charges if amount is not None and Decimal(c["amount"]) == amount]
    if not matching:
        others = ", ".join(
            format_money(c["amount"], c.get("currency")) for c in charges[:MAX_CHARGES_OFFERED]
        )
        return ChargeExplanation(
            BillingStatus.NONE,
            {"amount": shown, "recent_charges": others or "none in the last months"},
        )
    sentences = []
    for charge in matching[:3]:
        items = await _order_items(orders, str(charge.get("order_id")))
        day = format_date(charge.get("created_at")) or "-"
        sentences.append(
            f"The {format_money(charge['amount'], charge.get('currency'))} charge on {day} to "
            f"your {_card(charge)} is for order {charge.get('order_id')}{items}, invoice "
            f"{charge.get('invoice_id')} (statement text: \"{charge.get('description')}\")."
        )
    return ChargeExplanation(
        BillingStatus.FOUND, {"amount": shown, "explanation": " ".join(sentences)}
    )


async def _order_items(orders: OrdersClient, order_id: str) -> str:
    try:
        order = await orders.get_order(order_id)
    except BackendError as exc:
        logger.info("Order %s not available for the charge explanation: %s", order_id, exc)
        return ""
    return f" ({describe_items(order)})"


# -- duplicate charges -----------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateCharge:
    """A charge that repeats an earlier one on the same invoice."""

    invoice_id: str
    order_id: str
    charge_id: str
    amount: Decimal
    currency: str
    card: str
    first_at: datetime
    repeated_at: datetime

    @property
    def seconds_apart(self) -> int:
        return int((self.repeated_at - self.first_at).total_seconds())

    def apart(self) -> str:
        """``"47 seconds later"``, ``"12 minutes later"``."""
        seconds = self.seconds_apart
        if seconds < 120:
            return f"{seconds} seconds later"
        if seconds < 7200:
            return f"{seconds // 60} minutes later"
        return f"{seconds // 3600} hours later"


def find_duplicate_charges(invoices: list[dict[str, Any]]) -> list[DuplicateCharge]:
    """Charges repeating an earlier charge of the same amount on the same invoice.

    Newest invoices first (as billing lists them); a refunded or void invoice still
    counts, since a refund of the invoice returns one payment, not both.
    """
    found = []
    for invoice in invoices:
        charges = sorted(invoice.get("charges") or [], key=lambda c: c.get("created_at") or "")
        for earlier, later in zip(charges, charges[1:], strict=False):
            first_at, repeated_at = _time(earlier.get("created_at")), _time(later.get("created_at"))
            if (
                first_at
                and repeated_at
                and Decimal(earlier["amount"]) == Decimal(later["amount"])
                and (repeated_at - first_at).total_seconds() <= DUPLICATE_WITHIN_HOURS * 3600
            ):
                found.append(
                    DuplicateCharge(
                        invoice_id=str(invoice["id"]),
                        order_id=str(invoice.get("order_id")),
                        charge_id=str(later["id"]),
                        amount=Decimal(later["amount"]),
                        currency=str(later.get("currency") or "USD"),
                        card=_card(later),
                        first_at=first_at,
                        repeated_at=repeated_at,
                    )
                )
    return found


@dataclass(frozen=True)
class DuplicateCheck:
    status: BillingStatus
    duplicate: DuplicateCharge | None = None


async def check_duplicates(billing: BillingClient, customer_id: str | None) -> DuplicateCheck:
    """The customer's most recent duplicate charge, if any."""
    if not customer_id:  # nobody verified server-side: nothing is read
        return DuplicateCheck(BillingStatus.NONE)
    try:
        invoices = await billing.list_invoices(customer_id)
    except BackendError as exc:
        logger.warning("Could not read invoices for the duplicate check: %s", exc)
        return DuplicateCheck(BillingStatus.UNAVAILABLE)
    duplicates = find_duplicate_charges(invoices)
    if not duplicates:
        return DuplicateCheck(BillingStatus.NONE)
    return DuplicateCheck(BillingStatus.FOUND, duplicates[0])


def duplicate_variables(duplicate: DuplicateCharge) -> dict[str, str]:
    """Variables of the responses about a duplicate charge."""
    return {
        "order_id": duplicate.order_id,
        "invoice_id": duplicate.invoice_id,
        "amount": format_money(duplicate.amount, duplicate.currency),
        "charged_on": format_date(duplicate.first_at.isoformat()) or "-",
        "apart": duplicate.apart(),
        "card": duplicate.card,
    }


def dispute_rationale(duplicate: DuplicateCharge, dispute_id: str | None) -> str:
    """What the billing team reads in the handoff packet."""
    opened = f"dispute {dispute_id} opened" if dispute_id else "no dispute could be opened"
    return (
        f"Duplicate charge {duplicate.charge_id} of "
        f"{format_money(duplicate.amount, duplicate.currency)} on invoice {duplicate.invoice_id} "
        f"(order {duplicate.order_id}), {duplicate.apart()} than the first; {opened}. "
        "Please refund the duplicate charge: refunds of charges are done by a person."
    )


class DisputeOutcome(str, enum.Enum):
    OPENED = "opened"
    ALREADY_OPEN = "already_open"
    KEPT = "kept"  # the customer said no: nothing opened
    NO_DUPLICATE = "no_duplicate"
    UNAVAILABLE = "unavailable"
    NEEDS_HUMAN = "needs_human"  # the guardrail refused the write (policies/)
    UNKNOWN = "outcome_unknown"  # timed out, and the replay could not confirm it


DISPUTE_OPERATION = "dispute_charge"


@dataclass(frozen=True)
class DisputeResult:
    outcome: DisputeOutcome
    duplicate: DuplicateCharge | None = None
    dispute_id: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    #: The guardrail's verdict, when a write was considered.
    check: WriteCheck | None = None
    #: What the write path did (None when no write was considered).
    write: WriteResult | None = None

    @property
    def response(self) -> str:
        return (
            flag_refusal_response(self.write)
            or {
                DisputeOutcome.OPENED: "utter_dispute_opened",
                DisputeOutcome.ALREADY_OPEN: "utter_dispute_already_open",
                DisputeOutcome.KEPT: "utter_dispute_kept",
                DisputeOutcome.NO_DUPLICATE: "utter_no_duplicate_charge",
                DisputeOutcome.UNAVAILABLE: "utter_backend_error",
                DisputeOutcome.NEEDS_HUMAN: "utter_write_needs_human",
                DisputeOutcome.UNKNOWN: "utter_write_outcome_unknown",
            }[self.outcome]
        )

    @property
    def hand_off(self) -> bool:
        """Whether the billing team takes over (a dispute exists for the duplicate)."""
        return self.outcome in (DisputeOutcome.OPENED, DisputeOutcome.ALREADY_OPEN)


async def dispute_duplicate(
    billing: BillingClient,
    *,
    customer_id: str | None,
    charge_id: str | None,
    confirmed: bool,
    idempotency_key: str,
    context: WriteContext,
    rules: Policies | None = None,
    audit: AuditStore | None = None,
) -> DisputeResult:
    """Opens a dispute of the duplicate charge if the customer said yes.

    The duplicate is looked up again (never taken from the conversation alone), and
    must be ``charge_id``, the one the customer was asked about.
    """
    check = await check_duplicates(billing, customer_id)
    if check.status is BillingStatus.UNAVAILABLE:
        return DisputeResult(DisputeOutcome.UNAVAILABLE)
    duplicate = check.duplicate
    if duplicate is None or (charge_id and duplicate.charge_id != charge_id):
        recent = await recent_invoices(billing, customer_id, limit=3)
        lines = "\n".join(recent.lines) or "none"
        return DisputeResult(DisputeOutcome.NO_DUPLICATE, variables={"invoices": lines})
    variables = duplicate_variables(duplicate)
    if not confirmed:
        return DisputeResult(DisputeOutcome.KEPT, duplicate, variables=variables)
    written = await WritePath(rules, audit).execute(
        WriteRequest(
            DISPUTE_OPERATION,
            context,
            customer_id=customer_id,
            subject=duplicate.charge_id,
            idempotency_key=idempotency_key,
            perform=lambda key: billing.open_dispute(
                duplicate.charge_id,
                reason="duplicate",
                note=f"Reported by the customer through the assistant ({duplicate.apart()}).",
                idempotency_key=key,
            ),
            amount=duplicate.amount,
            currency=duplicate.currency,
            details={"charge_id": duplicate.charge_id},
            outcome_of=lambda w: _disputed(w, duplicate, variables).outcome.value,
            details_of=lambda w: {"dispute_id": _disputed(w, duplicate, variables).dispute_id},
        )
    )
    result = _disputed(written, duplicate, variables)
    return replace(result, check=written.check, write=written)


def _disputed(
    written: WriteResult, duplicate: DuplicateCharge, variables: dict[str, str]
) -> DisputeResult:
    """What the write path's result means for this dispute (opened once per key)."""
    if written.status is WriteStatus.REFUSED:
        return DisputeResult(DisputeOutcome.NEEDS_HUMAN, duplicate, None, variables)
    if written.status is WriteStatus.OUTCOME_UNKNOWN:
        return DisputeResult(DisputeOutcome.UNKNOWN, duplicate, None, variables)
    exc = written.error
    if written.status is WriteStatus.REJECTED and isinstance(exc, BackendRejected):
        if exc.status == 409 and exc.body.get("dispute_id"):
            dispute_id = str(exc.body["dispute_id"])
            return DisputeResult(
                DisputeOutcome.ALREADY_OPEN,
                duplicate,
                dispute_id,
                variables | {"dispute_id": dispute_id},
            )
        logger.warning("Dispute refused: %s", exc)
        return DisputeResult(DisputeOutcome.UNAVAILABLE, duplicate, variables=variables)
    dispute = written.answer
    if written.status is not WriteStatus.DONE or dispute is None:
        return DisputeResult(DisputeOutcome.UNAVAILABLE, duplicate, variables=variables)
    dispute_id = str(dispute.get("id"))
    return DisputeResult(
        DisputeOutcome.OPENED, duplicate, dispute_id, variables | {"dispute_id": dispute_id}
    )

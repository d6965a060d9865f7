"""Returns and refunds: may the assistant take this return on its own, and the write itself.

Which states can be returned, how long after delivery and up to which refund amount
are rules of the returns policy (``policies/returns.yml``), never literals here. A
return the assistant may not authorise is explained to the customer and handed to a
person with a rationale naming the rule, asking them to approve or decline.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from frontline.audit.store import AuditStore
from frontline.connectors import BillingClient, OrdersClient
from frontline.errors import BackendError, BackendRejected
from frontline.policy import Policies, ReturnsPolicy
from frontline.services.guardrails import WriteCheck, WriteContext
from frontline.services.orders import (
    STATE_DESCRIPTIONS,
    LookupStatus,
    describe_items,
    find_customer_order,
    format_date,
    format_money,
)
from frontline.writes import WritePath, WriteRequest, WriteResult, WriteStatus

logger = logging.getLogger(__name__)

WINDOW_RULE = "window.days"
REFUND_LIMIT_RULE = "refund.max_automatic_amount"
STATES_RULE = "returnable_states"


class ReturnDecision(str, enum.Enum):
    """What the assistant can do about a return request for one order."""

    ELIGIBLE = "eligible"  # refund issued after the customer's explicit yes
    NEEDS_APPROVAL = "needs_approval"  # refund above the automatic limit: a person approves
    OUTSIDE_WINDOW = "outside_window"  # delivered too long ago: a person decides
    NOT_DELIVERED = "not_delivered"  # on its way: return once it has arrived
    CANCEL_INSTEAD = "cancel_instead"  # not shipped yet: cancelling is the way back
    ALREADY_RETURNED = "already_returned"
    CANCELLED = "cancelled"

    @property
    def needs_person(self) -> bool:
        """Whether a person must approve (the conversation is handed off)."""
        return self in (ReturnDecision.NEEDS_APPROVAL, ReturnDecision.OUTSIDE_WINDOW)


# The response that explains each decision (ELIGIBLE is asked for confirmation instead).
DECISION_RESPONSES = {
    ReturnDecision.NEEDS_APPROVAL: "utter_return_needs_approval",
    ReturnDecision.OUTSIDE_WINDOW: "utter_return_outside_window",
    ReturnDecision.NOT_DELIVERED: "utter_return_not_delivered",
    ReturnDecision.CANCEL_INSTEAD: "utter_return_cancel_instead",
    ReturnDecision.ALREADY_RETURNED: "utter_return_already_returned",
    ReturnDecision.CANCELLED: "utter_return_order_cancelled",
}


@dataclass(frozen=True)
class ReturnAssessment:
    """The decision about one order, with what the customer and an agent are told.

    Attributes:
        decision: What the assistant can do.
        order: The order as the order system returned it.
        refund_amount: What a return would refund (the order's total).
        delivered_at: When the carrier delivered it, if it was delivered.
        days_since_delivery: Whole days between delivery and the assessment.
        rule: The policy rule that decided, for decisions a person must review.
        variables: Variables of the response that explains the decision.
    """

    decision: ReturnDecision
    order: dict[str, Any]
    refund_amount: Decimal
    delivered_at: datetime | None = None
    days_since_delivery: int | None = None
    rule: str | None = None
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def response(self) -> str | None:
        return DECISION_RESPONSES.get(self.decision)


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def assess_return(order: dict[str, Any], policy: ReturnsPolicy, now: datetime) -> ReturnAssessment:
    """Decides what the assistant may do about returning ``order`` at ``now``.

    The window is checked before the amount: an order outside the window needs a
    person whatever its value.
    """
    state = str(order.get("state", ""))
    amount = Decimal(str(order.get("total") or "0"))
    delivered_at = _parse_time((order.get("shipment") or {}).get("delivered_at"))
    days = (now - delivered_at).days if delivered_at else None
    variables = {
        "order_id": str(order["id"]),
        "items": describe_items(order),
        "amount": format_money(amount, order.get("currency")),
        "state_description": STATE_DESCRIPTIONS.get(state, state),
        "window_days": str(policy.window_days),
        "limit": format_money(policy.max_automatic_refund, policy.currency),
        "delivered_on": format_date((order.get("shipment") or {}).get("delivered_at")) or "-",
        "days_since_delivery": str(days) if days is not None else "-",
    }

    def result(decision: ReturnDecision, rule: str | None = None) -> ReturnAssessment:
        return ReturnAssessment(decision, order, amount, delivered_at, days, rule, variables)

    if state not in policy.returnable_states:
        if state == "returned":
            return result(ReturnDecision.ALREADY_RETURNED)
        if state == "cancelled":
            return result(ReturnDecision.CANCELLED)
        if order.get("cancellable"):
            return result(ReturnDecision.CANCEL_INSTEAD)
        return result(ReturnDecision.NOT_DELIVERED)
    if days is not None and days > policy.window_days:
        return result(ReturnDecision.OUTSIDE_WINDOW, WINDOW_RULE)
    if amount > policy.max_automatic_refund:
        return result(ReturnDecision.NEEDS_APPROVAL, REFUND_LIMIT_RULE)
    return result(ReturnDecision.ELIGIBLE)


def approval_rationale(assessment: ReturnAssessment, policy: ReturnsPolicy) -> str:
    """The sentence that asks the human agent to approve or decline (for the packet)."""
    order_id = assessment.order["id"]
    amount = format_money(assessment.refund_amount, assessment.order.get("currency"))
    delivered = (
        f"delivered {assessment.days_since_delivery} days ago"
        if assessment.days_since_delivery is not None
        else "delivered"
    )
    rule = policy.rule_reference(assessment.rule or "")
    if assessment.decision is ReturnDecision.OUTSIDE_WINDOW:
        return (
            f"Return of order {order_id} ({delivered}) is outside the {policy.window_days}-day "
            f"return window ({rule}); refund would be {amount}. "
            "Please approve or decline an exception."
        )
    limit = format_money(policy.max_automatic_refund, policy.currency)
    return (
        f"Return of order {order_id} ({delivered}) needs a refund of {amount}, above the "
        f"{limit} limit for automatic refunds ({rule}). Please approve or decline the refund."
    )


def payment_card(invoices: list[dict[str, Any]], order_id: str) -> str | None:
    """``"mastercard ending 5454"``: the card that paid for the order (last four digits only)."""
    for invoice in invoices:
        if str(invoice.get("order_id")) == str(order_id) and invoice.get("charges"):
            charge = invoice["charges"][0]
            return card_phrase(charge.get("card_brand"), charge.get("card_last4"))
    return None


def card_phrase(brand: str | None, last4: str | None) -> str | None:
    """A card as the customer is told about it: brand and at most the last four digits."""
    if not last4:
        return None
    digits = "".join(c for c in str(last4) if c.isdigit())[-4:]
    name = {"amex": "American Express", "mastercard": "Mastercard", "visa": "Visa"}.get(
        str(brand or "").lower(), str(brand or "card").title()
    )
    return f"{name} card ending {digits}"


async def return_prompt(
    billing: BillingClient,
    customer_id: str | None,
    assessment: ReturnAssessment,
    policy: ReturnsPolicy,
) -> dict[str, str]:
    """Variables of ``utter_ask_return_confirmed``: every detail of the return and refund."""
    invoices: list[dict[str, Any]] = []
    try:
        if customer_id:  # nobody verified server-side: nothing is read
            invoices = await billing.list_invoices(customer_id)
    except BackendError as exc:
        logger.warning("Could not read invoices for the return prompt: %s", exc)
    card = payment_card(invoices, assessment.order["id"]) or "the card you paid with"
    return assessment.variables | {
        "card": card,
        "refund_days": str(policy.business_days_to_card),
    }


class ReturnOutcome(str, enum.Enum):
    RETURNED = "returned"  # return authorised and the refund issued
    KEPT = "kept"  # the customer said no: nothing changed
    REFUSED = "refused"  # assessed again at the write: not eligible any more
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"
    NEEDS_HUMAN = "needs_human"  # the guardrail refused the write (policies/)
    UNKNOWN = "outcome_unknown"  # timed out, and the replay could not confirm it


RETURN_OPERATION = "return_order"

RETURN_RESPONSES = {
    ReturnOutcome.RETURNED: "utter_return_done",
    ReturnOutcome.KEPT: "utter_return_kept",
    ReturnOutcome.NOT_FOUND: "utter_order_not_found",
    ReturnOutcome.UNAVAILABLE: "utter_backend_error",
    ReturnOutcome.NEEDS_HUMAN: "utter_write_needs_human",
    ReturnOutcome.UNKNOWN: "utter_write_outcome_unknown",
}


@dataclass(frozen=True)
class ReturnResult:
    """What came of a return request at the write step."""

    outcome: ReturnOutcome
    assessment: ReturnAssessment | None = None
    variables: dict[str, str] = field(default_factory=dict)
    #: The guardrail's verdict, when a write was considered.
    check: WriteCheck | None = None
    #: What the write path did (None when no write was considered).
    write: WriteResult | None = None

    @property
    def response(self) -> str | None:
        if self.write is not None and self.write.refused_by_flag:
            return self.write.response
        if self.outcome is ReturnOutcome.REFUSED and self.assessment is not None:
            return self.assessment.response
        return RETURN_RESPONSES.get(self.outcome)


async def process_return(
    orders: OrdersClient,
    *,
    customer_id: str | None,
    order_id: str,
    confirmed: bool,
    policy: ReturnsPolicy,
    now: datetime,
    idempotency_key: str,
    context: WriteContext,
    rules: Policies | None = None,
    audit: AuditStore | None = None,
) -> ReturnResult:
    """Authorises the return and issues the refund if, and only if, all of this holds.

    The order is the customer's, the policy allows the assistant to take it on its own
    (assessed again now, against the order system's current answer), and the customer
    said yes. The write carries ``idempotency_key``, so a retried message returns and
    refunds once. Right before it, the guardrail (policies/) checks verification,
    consent to this very return, scope, order state and the money limit; a refusal
    comes back as ``NEEDS_HUMAN`` with ``check`` naming the rule, and is audited too.
    """
    lookup = await find_customer_order(orders, customer_id, order_id)
    if lookup.status is LookupStatus.UNAVAILABLE:
        return ReturnResult(ReturnOutcome.UNAVAILABLE)
    if lookup.status is LookupStatus.NOT_FOUND or lookup.order is None:
        return ReturnResult(ReturnOutcome.NOT_FOUND, variables={"order_id": order_id})
    assessment = assess_return(lookup.order, policy, now)
    replay = assessment.decision is ReturnDecision.ALREADY_RETURNED and confirmed
    if not replay:
        # (A retried "yes" goes to the order system, which replays its first answer.)
        if assessment.decision is not ReturnDecision.ELIGIBLE:
            return ReturnResult(ReturnOutcome.REFUSED, assessment, assessment.variables)
        if not confirmed:
            return ReturnResult(ReturnOutcome.KEPT, assessment, assessment.variables)
    order = lookup.order
    written = await WritePath(rules, audit).execute(
        WriteRequest(
            RETURN_OPERATION,
            context,
            customer_id=customer_id,
            subject=order_id,
            idempotency_key=idempotency_key,
            perform=lambda key: orders.return_order(
                order_id, idempotency_key=key, reason="customer request via assistant"
            ),
            amount=order.get("total"),
            currency=order.get("currency") or "USD",
            order_state=order.get("state"),
            details={"order_id": order_id},
            outcome_of=lambda w: _returned(w, assessment, policy, now).outcome.value,
        )
    )
    result = _returned(written, assessment, policy, now)
    return replace(result, check=written.check, write=written)


def _returned(
    written: WriteResult, assessment: ReturnAssessment, policy: ReturnsPolicy, now: datetime
) -> ReturnResult:
    """What the write path's result means for this return."""
    if written.status is WriteStatus.REFUSED:
        return ReturnResult(ReturnOutcome.NEEDS_HUMAN, assessment, assessment.variables)
    if written.status is WriteStatus.OUTCOME_UNKNOWN:
        return ReturnResult(ReturnOutcome.UNKNOWN, assessment, assessment.variables)
    exc = written.error
    if written.status is WriteStatus.REJECTED and isinstance(exc, BackendRejected):
        if exc.status == 409:
            state = str(exc.body.get("state", assessment.order.get("state")))
            current = assess_return(assessment.order | {"state": state}, policy, now)
            return ReturnResult(ReturnOutcome.REFUSED, current, current.variables)
        logger.warning("Return refused: %s", exc)
        return ReturnResult(ReturnOutcome.UNAVAILABLE, assessment)
    answer = written.answer
    if written.status is not WriteStatus.DONE or answer is None:
        return ReturnResult(ReturnOutcome.UNAVAILABLE, assessment)
    authorisation = answer.get("return") or {}
    refund = authorisation.get("refund")
    # Everything said comes from the order system's answer, which a replay repeats.
    if refund:
        card = card_phrase(refund.get("card_brand"), refund.get("card_last4")) or "your card"
        refund_note = (
            f"{format_money(refund['amount'], refund.get('currency'))} will be refunded to your "
            f"{card} within {policy.business_days_to_card} business days."
        )
    else:
        refund_note = "Nothing was charged for it, so there is nothing to refund."
    variables = assessment.variables | {
        "return_id": str(authorisation.get("id", "")),
        "label_url": str(authorisation.get("label_url", "")),
        "refund_note": refund_note,
    }
    return ReturnResult(ReturnOutcome.RETURNED, assessment, variables)

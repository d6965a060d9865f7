"""Payment problems: the state of the customer's latest payment, and what to do about it.

Failed, declined or pending payments are explained from billing's payment attempts;
a charge the customer disputes is the dispute flow's (``report_double_charge``).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any

from frontline.connectors import BillingClient
from frontline.errors import BackendError
from frontline.services.orders import format_date, format_money
from frontline.services.returns import card_phrase

logger = logging.getLogger(__name__)

#: What the bank's decline codes mean, in the customer's words.
DECLINE_REASONS = {
    "insufficient_funds": "not enough funds were available",
    "expired_card": "the card has expired",
    "incorrect_cvc": "the security code didn't match",
    "do_not_honor": "the bank didn't give a reason",
    "card_not_supported": "the card doesn't support this kind of payment",
}


class PaymentOutcome(str, enum.Enum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    DECLINED = "declined"
    FAILED = "failed"
    NONE = "none"
    UNAVAILABLE = "unavailable"


RESPONSES = {
    PaymentOutcome.SUCCEEDED: "utter_payment_succeeded",
    PaymentOutcome.PENDING: "utter_payment_pending",
    PaymentOutcome.DECLINED: "utter_payment_declined",
    PaymentOutcome.FAILED: "utter_payment_failed",
    PaymentOutcome.NONE: "utter_payment_none",
    PaymentOutcome.UNAVAILABLE: "utter_backend_error",
}


@dataclass(frozen=True)
class PaymentStatus:
    outcome: PaymentOutcome
    payment: dict[str, Any] | None = None
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def response(self) -> str:
        return RESPONSES[self.outcome]


def describe_payment(payment: dict[str, Any]) -> PaymentStatus:
    """The response and its variables for one payment attempt."""
    state = str(payment.get("state", ""))
    outcome = PaymentOutcome(state) if state in RESPONSES else PaymentOutcome.FAILED
    code = payment.get("decline_code")
    variables = {
        "order_id": str(payment.get("order_id")),
        "invoice_id": str(payment.get("invoice_id")),
        "amount": format_money(payment.get("amount"), payment.get("currency")),
        "date": format_date(payment.get("created_at")) or "-",
        "card": card_phrase(payment.get("card_brand"), payment.get("card_last4")) or "your card",
        "decline_reason": DECLINE_REASONS.get(str(code), "the bank didn't give a reason"),
    }
    return PaymentStatus(outcome, payment, variables)


async def latest_payment(
    billing: BillingClient, customer_id: str, order_id: str | None = None
) -> PaymentStatus:
    """The customer's latest payment attempt (for ``order_id``, if it has one)."""
    try:
        payments = await billing.list_payments(customer_id)
    except BackendError as exc:
        logger.warning("Could not list payments: %s", exc)
        return PaymentStatus(PaymentOutcome.UNAVAILABLE)
    named = [p for p in payments if order_id and str(p.get("order_id")) == str(order_id)]
    chosen = (named or payments)[:1]
    if not chosen:
        return PaymentStatus(PaymentOutcome.NONE)
    return describe_payment(chosen[0])

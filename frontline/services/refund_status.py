"""Refund status: where each of the customer's refunds is, and which ones are overdue.

A refund is overdue when it has not reached the card ``overdue_after_days`` days after
the date it was expected there (``policies/returns.yml``), or when the bank sent it
back: the customer gets an apology and a person, who chases it.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from frontline.connectors import BillingClient
from frontline.errors import BackendError
from frontline.policy import ReturnsPolicy
from frontline.services.orders import format_date, format_money
from frontline.services.returns import card_phrase

logger = logging.getLogger(__name__)

OVERDUE_RULE = "refund.overdue_after_days"
#: The most refunds told about in one answer (newest first).
MAX_SHOWN = 3
#: States in which the money has not reached the customer yet.
UNDER_WAY = frozenset({"pending", "issued"})

STATE_PHRASES = {
    "pending": "is being prepared and hasn't been sent to your bank yet",
    "issued": "has been sent to your bank and is on its way to your card",
    "completed": "has been paid back",
    "failed": "was sent back by your bank",
}


class RefundOutcome(str, enum.Enum):
    SHOWN = "shown"  # every refund told, none overdue
    OVERDUE = "overdue"  # at least one overdue or failed: apologise and hand off
    NONE = "none"  # no refund on the account
    UNAVAILABLE = "unavailable"


RESPONSES = {
    RefundOutcome.SHOWN: "utter_refund_status",
    RefundOutcome.OVERDUE: "utter_refund_overdue",
    RefundOutcome.NONE: "utter_refund_none",
    RefundOutcome.UNAVAILABLE: "utter_backend_error",
}


@dataclass(frozen=True)
class RefundView:
    """One refund as the customer is told about it.

    Attributes:
        refund: The refund as billing returned it.
        overdue: Whether it is past its expected arrival by the policy's days, or failed.
        days_late: Whole days past the expected arrival (0 when not late).
        line: The sentence about it.
    """

    refund: dict[str, Any]
    overdue: bool
    days_late: int
    line: str

    @property
    def order_id(self) -> str:
        return str(self.refund.get("order_id"))


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def describe_refund(refund: dict[str, Any], policy: ReturnsPolicy, now: datetime) -> RefundView:
    """The state, amount, method, date issued and expected arrival of one refund."""
    state = str(refund.get("state", ""))
    expected = _time(refund.get("expected_at"))
    days_late = max((now - expected).days, 0) if expected and state in UNDER_WAY else 0
    overdue = state == "failed" or (
        state in UNDER_WAY
        and expected is not None
        and now > expected
        and days_late >= policy.refund_overdue_after_days
    )
    card = card_phrase(refund.get("card_brand"), refund.get("card_last4")) or "your card"
    amount = format_money(refund.get("amount"), refund.get("currency"))
    issued = format_date(refund.get("issued_at")) or "-"
    line = (
        f"Order {refund.get('order_id')}: {amount} back to your {card}, issued {issued}, "
        f"{STATE_PHRASES.get(state, state)}"
    )
    if state == "completed":
        line += f" (reached your card by {format_date(refund.get('completed_at')) or '-'})."
    elif state in UNDER_WAY:
        line += f"; expected on your card by {format_date(refund.get('expected_at')) or '-'}."
    else:
        line += "."
    return RefundView(refund, overdue, days_late, line)


@dataclass(frozen=True)
class RefundOverview:
    """What the customer is told about their refunds."""

    outcome: RefundOutcome
    refunds: list[RefundView] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def response(self) -> str:
        return RESPONSES[self.outcome]

    @property
    def overdue(self) -> list[RefundView]:
        return [view for view in self.refunds if view.overdue]


async def refund_overview(
    billing: BillingClient,
    customer_id: str,
    policy: ReturnsPolicy,
    now: datetime,
    order_id: str | None = None,
) -> RefundOverview:
    """The customer's refunds (the named order's, if it has one), newest first.

    Args:
        order_id: An order the customer named; its refund alone is told when there is one.
    """
    try:
        refunds = await billing.list_refunds(customer_id)
    except BackendError as exc:
        logger.warning("Could not list refunds: %s", exc)
        return RefundOverview(RefundOutcome.UNAVAILABLE)
    named = [r for r in refunds if order_id and str(r.get("order_id")) == str(order_id)]
    views = [describe_refund(r, policy, now) for r in (named or refunds)[:MAX_SHOWN]]
    if not views:
        return RefundOverview(RefundOutcome.NONE)
    lines = "\n".join(f"• {view.line}" for view in views)
    overdue = [view for view in views if view.overdue]
    if not overdue:
        return RefundOverview(RefundOutcome.SHOWN, views, {"refund_lines": lines})
    first = overdue[0]
    return RefundOverview(
        RefundOutcome.OVERDUE,
        views,
        {
            "refund_lines": lines,
            "order_id": first.order_id,
            "expected_on": format_date(first.refund.get("expected_at")) or "-",
        },
    )


def overdue_rationale(overview: RefundOverview, policy: ReturnsPolicy) -> str:
    """The sentence for the agent: which refunds are overdue, by how much, and the rule."""
    parts = []
    for view in overview.overdue:
        refund = view.refund
        amount = format_money(refund.get("amount"), refund.get("currency"))
        if refund.get("state") == "failed":
            parts.append(f"order {view.order_id} ({amount}, {refund.get('id')}) failed")
        else:
            parts.append(
                f"order {view.order_id} ({amount}, {refund.get('id')}) is {view.days_late} "
                f"days past its expected arrival"
            )
    rule = policy.rule_reference(OVERDUE_RULE)
    return (
        f"Refund overdue: {'; '.join(parts)} ({rule}). "
        "Please check it with billing or the bank and tell the customer."
    )

"""Late and missing deliveries: the order's status against the date promised.

An order still on its way ``late_after_days`` past its promised date, or one the
carrier reports delivered that the customer says never arrived, goes to a person
with reason ``late_delivery`` (rules in ``policies/delivery.yml``).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from frontline.connectors import OrdersClient
from frontline.errors import BackendError, NotFound
from frontline.policy.delivery import DeliveryPolicy
from frontline.services.orders import (
    STATE_DESCRIPTIONS,
    describe_items,
    describe_shipment,
    format_date,
)

logger = logging.getLogger(__name__)

LATE_RULE = "late_after_days"
CLAIM_RULE = "missing_parcel_claim_days"


class DeliveryVerdict(str, enum.Enum):
    ON_TIME = "on_time"  # on its way, the promise not passed
    BEHIND = "behind"  # past the promise, not yet by the policy's days
    LATE = "late"  # past the promise by the policy's days: a person takes over
    MISSING = "missing"  # delivered recently, the customer says not received: a claim
    DELIVERED = "delivered"  # delivered long ago: explained
    CANCELLED = "cancelled"
    RETURNED = "returned"

    @property
    def needs_person(self) -> bool:
        return self in (DeliveryVerdict.LATE, DeliveryVerdict.MISSING)


RESPONSES = {
    DeliveryVerdict.ON_TIME: "utter_delivery_on_time",
    DeliveryVerdict.BEHIND: "utter_delivery_behind",
    DeliveryVerdict.LATE: "utter_delivery_late",
    DeliveryVerdict.MISSING: "utter_delivery_missing",
    DeliveryVerdict.DELIVERED: "utter_delivery_delivered",
    DeliveryVerdict.CANCELLED: "utter_delivery_cancelled",
    DeliveryVerdict.RETURNED: "utter_delivery_returned",
}


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


@dataclass(frozen=True)
class DeliveryAssessment:
    """What the assistant says about one order's delivery, and whether a person takes over."""

    verdict: DeliveryVerdict
    days_late: int
    rule: str | None
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def response(self) -> str:
        return RESPONSES[self.verdict]


def assess_delivery(
    order: dict[str, Any], delivery: dict[str, Any], policy: DeliveryPolicy, now: datetime
) -> DeliveryAssessment:
    """Judges ``order`` against the promise in ``delivery`` (the order system's) at ``now``."""
    state = str(order.get("state", ""))
    promised = _time(delivery.get("promised_by"))
    shipment = order.get("shipment") or {}
    delivered = _time(shipment.get("delivered_at"))
    days_late = (now - promised).days if promised and now > promised else 0
    variables = {
        "order_id": str(order["id"]),
        "items": describe_items(order),
        "state_description": STATE_DESCRIPTIONS.get(state, state),
        "promised_on": format_date(delivery.get("promised_by")) or "-",
        "days_late": str(days_late),
        "shipment_details": describe_shipment(order),
        "delivered_on": format_date(shipment.get("delivered_at")) or "-",
    }

    def verdict(value: DeliveryVerdict, rule: str | None = None) -> DeliveryAssessment:
        return DeliveryAssessment(value, days_late, rule, variables)

    if state == "cancelled":
        return verdict(DeliveryVerdict.CANCELLED)
    if state == "returned":
        return verdict(DeliveryVerdict.RETURNED)
    if state not in policy.undelivered_states:
        since = (now - delivered).days if delivered else None
        if since is not None and since <= policy.missing_parcel_claim_days:
            return verdict(DeliveryVerdict.MISSING, CLAIM_RULE)
        return verdict(DeliveryVerdict.DELIVERED)
    if promised is None or now <= promised:
        return verdict(DeliveryVerdict.ON_TIME)
    if days_late >= policy.late_after_days:
        return verdict(DeliveryVerdict.LATE, LATE_RULE)
    return verdict(DeliveryVerdict.BEHIND)


class DeliveryOutcome(str, enum.Enum):
    ASSESSED = "assessed"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class DeliveryCheck:
    outcome: DeliveryOutcome
    assessment: DeliveryAssessment | None = None


async def check_delivery(
    orders: OrdersClient, order: dict[str, Any], policy: DeliveryPolicy, now: datetime
) -> DeliveryCheck:
    """Fetches the promise of the customer's ``order`` (already checked to be theirs)."""
    try:
        delivery = await orders.get_delivery(str(order["id"]))
    except NotFound:
        return DeliveryCheck(DeliveryOutcome.NOT_FOUND)
    except BackendError as exc:
        logger.warning("Delivery lookup failed: %s", exc)
        return DeliveryCheck(DeliveryOutcome.UNAVAILABLE)
    return DeliveryCheck(DeliveryOutcome.ASSESSED, assess_delivery(order, delivery, policy, now))


def late_rationale(assessment: DeliveryAssessment, policy: DeliveryPolicy) -> str:
    """The sentence for the agent: how late the order is, and the rule that sent it."""
    v = assessment.variables
    rule = policy.rule_reference(assessment.rule or "")
    if assessment.verdict is DeliveryVerdict.MISSING:
        return (
            f"Order {v['order_id']} is reported delivered on {v['delivered_on']} but the "
            f"customer says it never arrived ({rule}). Please open a carrier claim or "
            "arrange a replacement."
        )
    return (
        f"Order {v['order_id']} ({v['state_description']}) was promised by {v['promised_on']} "
        f"and is {v['days_late']} days late ({rule}). Please chase the carrier or arrange "
        "a replacement."
    )

"""The contact types' business rules without Rasa or a backend: plain dicts, a fixed clock.

Refund overdue, late delivery, the invoice chosen, payment states (issue 17).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from frontline.policy import returns_policy
from frontline.policy.delivery import delivery_policy
from frontline.services.invoice_copy import choose_invoice
from frontline.services.late_delivery import DeliveryVerdict, assess_delivery
from frontline.services.payment_problem import PaymentOutcome, describe_payment
from frontline.services.refund_status import describe_refund

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
RETURNS = returns_policy()
DELIVERY = delivery_policy()


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def refund(state: str, expected: datetime, **extra) -> dict:
    return {
        "id": "RF-1",
        "order_id": "123456",
        "amount": "69.00",
        "currency": "USD",
        "card_brand": "visa",
        "card_last4": "4242",
        "state": state,
        "issued_at": iso(expected - timedelta(days=7)),
        "expected_at": iso(expected),
        **extra,
    }


@pytest.mark.parametrize(
    ("state", "days_past_expected", "overdue"),
    [
        ("issued", -2, False),  # not expected yet
        ("issued", RETURNS.refund_overdue_after_days - 1, False),  # within the policy's days
        ("issued", RETURNS.refund_overdue_after_days, True),  # the policy's day itself
        ("pending", 10, True),
        ("completed", 40, False),  # arrived: never overdue
        ("failed", -5, True),  # sent back by the bank: a person chases it
    ],
)
def test_a_refund_is_overdue_only_past_the_policys_days(state, days_past_expected, overdue):
    view = describe_refund(refund(state, NOW - timedelta(days=days_past_expected)), RETURNS, NOW)
    assert view.overdue is overdue
    assert view.line.startswith("Order 123456: $69.00 back to your Visa card ending 4242, issued ")


def order(state: str, **shipment) -> dict:
    return {
        "id": "123456",
        "state": state,
        "items": [{"quantity": 1, "name": "Desk Mat XL"}],
        "shipment": shipment or None,
    }


@pytest.mark.parametrize(
    ("state", "promised_hours_ago", "shipment", "verdict"),
    [
        ("shipped", -30, {"carrier": "UPS", "tracking_number": "1Z"}, DeliveryVerdict.ON_TIME),
        ("packed", 6, {}, DeliveryVerdict.BEHIND),
        ("paid", 24 * DELIVERY.late_after_days, {}, DeliveryVerdict.LATE),
        ("shipped", 24 * 5, {"carrier": "UPS", "tracking_number": "1Z"}, DeliveryVerdict.LATE),
        (
            "delivered",
            24 * 3,
            {"delivered_at": iso(NOW - timedelta(days=2))},
            DeliveryVerdict.MISSING,
        ),
        (
            "delivered",
            24 * 90,
            {"delivered_at": iso(NOW - timedelta(days=80))},
            DeliveryVerdict.DELIVERED,
        ),
        ("cancelled", 24 * 9, {}, DeliveryVerdict.CANCELLED),
        (
            "returned",
            24 * 9,
            {"delivered_at": iso(NOW - timedelta(days=20))},
            DeliveryVerdict.RETURNED,
        ),
    ],
)
def test_late_delivery_is_judged_against_the_promise(state, promised_hours_ago, shipment, verdict):
    promised = NOW - timedelta(hours=promised_hours_ago)
    assessment = assess_delivery(
        order(state, **shipment), {"promised_by": iso(promised)}, DELIVERY, NOW
    )
    assert assessment.verdict is verdict
    assert assessment.verdict.needs_person is (
        verdict in (DeliveryVerdict.LATE, DeliveryVerdict.MISSING)
    )
    assert assessment.variables["order_id"] == "123456"


def test_the_invoice_of_the_named_order_or_the_newest():
    invoices = [{"id": "INV-2", "order_id": "222222"}, {"id": "INV-1", "order_id": "111111"}]
    assert choose_invoice(invoices, None)["id"] == "INV-2"
    assert choose_invoice(invoices, "111111")["id"] == "INV-1"
    assert choose_invoice(invoices, "999999") is None
    assert choose_invoice([], None) is None


@pytest.mark.parametrize(
    ("state", "code", "outcome", "reason"),
    [
        ("declined", "expired_card", PaymentOutcome.DECLINED, "the card has expired"),
        ("declined", "something_new", PaymentOutcome.DECLINED, "the bank didn't give a reason"),
        ("pending", None, PaymentOutcome.PENDING, "the bank didn't give a reason"),
        ("weird", None, PaymentOutcome.FAILED, "the bank didn't give a reason"),
    ],
)
def test_a_payment_is_told_by_its_state(state, code, outcome, reason):
    status = describe_payment(
        {
            "order_id": "123456",
            "invoice_id": "INV-1",
            "amount": "10.5",
            "currency": "USD",
            "state": state,
            "decline_code": code,
            "card_brand": "amex",
            "card_last4": "0005",
            "created_at": iso(NOW),
        }
    )
    assert status.outcome is outcome and status.variables["decline_reason"] == reason
    assert status.variables["amount"] == "$10.50" and status.variables["date"] == "Sun 1 Nov"

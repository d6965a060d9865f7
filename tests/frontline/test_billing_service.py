"""Billing questions against the real sandbox: invoices, charges, duplicates, disputes."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
import requests

from frontline.connectors import BillingClient, OrdersClient
from frontline.services.billing import (
    BillingStatus,
    DisputeOutcome,
    check_duplicates,
    dispute_duplicate,
    dispute_rationale,
    explain_charge,
    find_duplicate_charges,
    parse_amount,
    recent_invoices,
)
from tests.support.consent import consented

FULL_CARD_NUMBER = re.compile(r"\d{5,}")


@pytest.fixture
async def clients(sandbox):
    billing, orders = BillingClient(sandbox.url, 2.0), OrdersClient(sandbox.url, 2.0)
    yield billing, orders
    await billing.close()
    await orders.close()


@pytest.mark.parametrize(
    "text, amount",
    [
        ("$59.90", "59.90"),
        ("59.9 dollars", "59.90"),
        ("USD 1,5", "1.50"),
        ("what is the 108.98 charge", "108.98"),
        ("nothing", None),
        ("$0", None),
    ],
)
def test_parse_amount(text, amount):
    assert parse_amount(text) == (Decimal(amount) if amount else None)


def test_a_second_charge_of_the_same_amount_on_one_invoice_is_a_duplicate():
    charge = {"amount": "20.00", "currency": "USD", "card_brand": "visa", "card_last4": "4242"}
    invoices = [
        {
            "id": "INV-1",
            "order_id": "111111",
            "charges": [
                charge | {"id": "ch_b", "created_at": "2026-10-01T10:00:30Z"},
                charge | {"id": "ch_a", "created_at": "2026-10-01T10:00:00Z"},
            ],
        },
        {  # a top-up of a different amount is not a duplicate
            "id": "INV-2",
            "order_id": "222222",
            "charges": [
                charge | {"id": "ch_c", "created_at": "2026-10-02T10:00:00Z"},
                charge | {"id": "ch_d", "amount": "5.00", "created_at": "2026-10-02T10:01:00Z"},
            ],
        },
    ]
    [duplicate] = find_duplicate_charges(invoices)
    assert duplicate.charge_id == "ch_b" and duplicate.seconds_apart == 30
    assert duplicate.apart() == "30 seconds later"
    assert duplicate.card == "Visa card ending 4242"


async def test_recent_invoices_show_cards_by_their_last_four_digits(clients):
    billing, _ = clients
    listing = await recent_invoices(billing, "C1001")
    assert listing.status is BillingStatus.FOUND and listing.response == "utter_invoices"
    assert len(listing.lines) == 5
    [line] = [line for line in listing.lines if "order 482914" in line]
    assert "$59.90" in line and "paid (Visa card ending 4242)" in line
    identifiers = re.sub(r"INV-\d+|order \d{6}", "", " ".join(listing.lines))
    assert not FULL_CARD_NUMBER.search(identifiers)  # no card number beyond 4 digits


async def test_explain_a_charge_by_its_amount(clients):
    billing, orders = clients
    explanation = await explain_charge(billing, orders, "C1001", "$59.90")
    assert explanation.status is BillingStatus.FOUND
    text = explanation.variables["explanation"]
    assert "order 482914 (1 x Pulse Wireless Earbuds)" in text
    assert "Visa card ending 4242" in text and "INV-" in text


async def test_an_unknown_amount_lists_the_recent_charges(clients):
    billing, orders = clients
    explanation = await explain_charge(billing, orders, "C1001", "$12.34")
    assert explanation.status is BillingStatus.NONE
    assert explanation.response == "utter_charge_not_found"
    assert "$59.90" in explanation.variables["recent_charges"]


async def test_duplicate_found_for_li_and_not_for_jane(clients):
    billing, _ = clients
    li = await check_duplicates(billing, "C1003")
    assert li.status is BillingStatus.FOUND
    assert li.duplicate.invoice_id == "INV-100012" and li.duplicate.seconds_apart == 47
    assert (await check_duplicates(billing, "C1001")).status is BillingStatus.NONE


async def test_dispute_only_after_a_yes_and_only_once(clients, sandbox):
    billing, _ = clients

    def disputes() -> list:
        url = f"{sandbox.url}/billing/customers/C1007/disputes"
        return requests.get(url, timeout=10).json()["disputes"]

    check = await check_duplicates(billing, "C1007")
    charge_id = check.duplicate.charge_id

    async def run(confirmed: bool, key: str):
        return await dispute_duplicate(
            billing,
            customer_id="C1007",
            charge_id=charge_id,
            confirmed=confirmed,
            idempotency_key=key,
            context=consented(
                key, "utter_ask_dispute_confirmed", slots={"disputed_charge_id": charge_id}
            ),
        )

    kept = await run(False, "svc-dispute-1")
    assert kept.outcome is DisputeOutcome.KEPT and not kept.hand_off and disputes() == []

    opened = await run(True, "svc-dispute-1")
    assert opened.outcome is DisputeOutcome.OPENED and opened.hand_off
    assert opened.response == "utter_dispute_opened"
    replayed = await run(True, "svc-dispute-1")
    assert replayed.dispute_id == opened.dispute_id
    other_conversation = await run(True, "svc-dispute-2")
    assert other_conversation.outcome is DisputeOutcome.ALREADY_OPEN
    assert other_conversation.dispute_id == opened.dispute_id
    [dispute] = disputes()
    assert dispute["id"] == opened.dispute_id and dispute["charge_id"] == charge_id

    rationale = dispute_rationale(opened.duplicate, opened.dispute_id)
    assert opened.dispute_id in rationale and "INV-100033" in rationale and len(rationale) <= 300


async def test_no_duplicate_means_nothing_to_dispute(clients):
    billing, _ = clients
    result = await dispute_duplicate(
        billing,
        customer_id="C1001",
        charge_id=None,
        confirmed=True,
        idempotency_key="x",
        context=consented("x", "utter_ask_dispute_confirmed"),
    )
    assert result.outcome is DisputeOutcome.NO_DUPLICATE
    assert result.variables["invoices"].count("INV-") == 3
    assert "Visa card ending 4242" in json.dumps(result.variables)

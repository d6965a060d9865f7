"""Values typed as answers: amounts, offered orders named by their words, card numbers."""

from __future__ import annotations

import pytest

from frontline.patterns import (
    amount_in_answer,
    contains_card_number,
    normalize_order_id,
    normalize_rating,
)
from frontline.services.account_changes import normalize_address
from frontline.services.fallback import consecutive_fallbacks
from frontline.services.typed_answers import match_offered_order, typed_answer

ORDERS = [
    {"id": "482913", "state": "shipped", "items": [{"name": "Aurora Wireless Headphones"}]},
    {"id": "482914", "state": "paid", "items": [{"name": "Pulse Wireless Earbuds"}]},
    {"id": "482916", "state": "placed", "items": [{"name": "Smart LED Desk Lamp"}]},
]
CARD = "4111 1111 1111 1111"


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("59.90", "59.90"),
        ("it was 120.5", "120.5"),
        ("$59.90", "59.90"),
        ("59,90 dollars", "59,90"),
        ("the 59.90 one pls", "59.90"),
        ("USD 35", "35"),
    ],
)
def test_an_amount_typed_as_the_answer(text, amount):
    assert amount_in_answer(text) == amount
    assert typed_answer("charge_amount", text) == amount


@pytest.mark.parametrize(
    "text",
    [
        CARD,
        "4111111111111111",
        "482913",  # an order number, not a charge
        "on 12/05",
        "2 items and 59.90",
        "i was charged 59.90 twice on the same day for one order but i only ordered once",
        "no idea",
    ],
)
def test_not_an_amount(text):
    assert amount_in_answer(text) is None


def test_card_numbers_are_luhn_checked():
    assert contains_card_number(CARD) and contains_card_number("4242-4242-4242-4242")
    assert not contains_card_number("4111 1111 1111 1112")  # fails the Luhn check
    assert not contains_card_number("482913") and not contains_card_number("1Z999AA10123456784")


def test_a_card_number_is_never_an_order_number():
    for card in (CARD, "4111111111111111", "4242-4242-4242-4242"):
        assert normalize_order_id(card) is None
        assert match_offered_order(card, ORDERS) is None
        assert typed_answer("order_id", card, ORDERS) is None
    assert match_offered_order(f"the shipped one, card {CARD}", ORDERS) is None


@pytest.mark.parametrize(
    ("text", "order_id"),
    [
        ("the shipped one", "482913"),
        ("the earbuds", "482914"),
        ("the one with the earbud", "482914"),
        ("Headphones please", "482913"),
        ("the lamp order", "482916"),
        ("the paid one", "482914"),
    ],
)
def test_an_offered_order_named_by_its_words(text, order_id):
    assert match_offered_order(text, ORDERS) == order_id


@pytest.mark.parametrize("text", ["the wireless one", "the delivered one", "the one", "hmm"])
def test_words_that_fit_no_single_order(text):
    assert match_offered_order(text, ORDERS) is None


@pytest.mark.parametrize(
    "text",
    [
        "new one is 5 Elm Rd, Austin TX 78701",
        "pls use 5 Elm Rd, Austin TX 78701, thanks",
        "new addy: 5 Elm Rd, Austin TX 78701",
        "my new addy is 5 Elm Rd, Austin TX 78701 ty",
    ],
)
def test_an_address_loses_its_lead_in(text):
    assert normalize_address(text) == "5 Elm Rd, Austin TX 78701"


def _user() -> dict:
    return {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}


def _slot(name: str, value: object) -> dict:
    return {"event": "slot", "name": name, "value": value}


def test_a_fallback_that_let_the_form_fill_its_slot_was_understood():
    fallback = {"event": "action", "name": "action_fallback"}
    form = {"event": "action", "name": "billing_form"}
    asked = [_slot("requested_slot", "charge_amount")]
    taken = [_user(), fallback, form, _slot("charge_amount", "59.90")]
    assert consecutive_fallbacks(asked + taken + [_user()]) == 1
    refused = [_user(), fallback, form, _slot("charge_amount", None)]
    assert consecutive_fallbacks(asked + refused + [_user()]) == 2


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("5 great service thanks", 5),
        ("1 terrible", 1),
        ("4 pretty quick", 4),
        ("2 not helpful at all", 2),
        ("2 items were missing", None),
        ("3 weeks late", None),
        ("10 great", None),
    ],
)
def test_a_score_followed_by_a_verdict(text, score):
    assert normalize_rating(text) == score

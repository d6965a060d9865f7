"""Masking of personal data and the identifier shapes shared with the NLU."""

from __future__ import annotations

import pytest

from frontline.masking import mask_card, mask_email, mask_name, mask_phone, mask_text
from frontline.patterns import normalize_email, normalize_order_id, normalize_zip_code
from frontline.services.verification import classify_secret


def test_mask_email_keeps_first_letter_and_domain():
    assert mask_email("jane.doe@example.com") == "j***@example.com"


def test_mask_phone_keeps_last_two_digits():
    assert mask_phone("+1 415 555 0134") == "***-***-**34"


def test_mask_name_keeps_first_name_and_initial():
    assert mask_name("Jane Doe") == "Jane D."
    assert mask_name("Cher") == "Cher"


def test_mask_card_shows_last_four_only():
    assert mask_card("4242") == "**** 4242"


def test_mask_text_masks_every_identifier_in_free_text():
    text = "I'm jane.doe@example.com, call +1 (415) 555-0134, card 4242 4242 4242 4242"
    masked = mask_text(text)
    assert "jane.doe" not in masked and "555-0134" not in masked and "4242 4242" not in masked
    assert "j***@example.com" in masked and "**** 4242" in masked


@pytest.mark.parametrize(
    "reference",
    ["dp_3998938304fa440d", "dp_a4155550134", "ch_4242424242424242", "INV4155550134"],
)
def test_mask_text_leaves_digits_inside_our_identifiers_alone(reference):
    # Random ids sometimes hold ten or sixteen digits in a row: the human agent needs
    # the reference whole (a dispute id was masked like a phone number).
    text = f"dispute {reference} opened; call 415-555-0134 or +1 (415) 555-0134."
    masked = mask_text(text)
    assert reference in masked
    assert "555-0134" not in masked


@pytest.mark.parametrize(
    "text", ["phone:4155550134", "(415) 555-0134", "415.555.0134x12", "#4155550134"]
)
def test_mask_text_still_masks_phone_numbers_after_punctuation(text):
    assert "0134" not in mask_text(text)


def test_mask_text_leaves_order_numbers_alone():
    assert mask_text("order 482913 please") == "order 482913 please"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("482913", "482913"),
        ("#482913", "482913"),
        (" 482913 ", "482913"),
        ("48291", None),
        ("4829130", None),
        (None, None),
    ],
)
def test_normalize_order_id(value, expected):
    assert normalize_order_id(value) == expected


@pytest.mark.parametrize(
    "value, expected", [("94107", "94107"), ("94107-1234", "94107"), ("9410", None)]
)
def test_normalize_zip_code(value, expected):
    assert normalize_zip_code(value) == expected


def test_normalize_email_lowercases_and_strips_punctuation():
    assert normalize_email(" Jane.Doe@Example.com. ") == "jane.doe@example.com"
    assert normalize_email("jane.doe at example") is None


def test_classify_secret_tells_orders_from_zip_codes():
    assert classify_secret("#482913") == ("order_id", "482913")
    assert classify_secret("94107") == ("zip_code", "94107")
    assert classify_secret("hello") is None

"""Ratings, list positions and phone numbers: the entity ruler and the normalisers agree."""

from __future__ import annotations

import pytest

from frontline.nlu.spacy_pipeline import build_pipeline
from frontline.patterns import (
    LAST_POSITION,
    normalize_ordinal,
    normalize_phone_number,
    normalize_rating,
)


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def entities(nlp, text: str) -> list[tuple[str, str]]:
    return [(ent.label_, ent.text) for ent in nlp(text).ents]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("4", 4),
        ("a 3", 3),
        ("five", 5),
        ("5!", 5),
        ("4/5", 4),
        ("4 / 5", 4),
        ("4 out of 5", 4),
        ("three out of five", 3),
        ("2 of 5", 2),
        ("4 stars", 4),
        ("one star. useless", 1),
        ("5*", 5),
        ("★★★★", 4),
        ("I'd give you a 4", 4),
        ("rating: 5", 5),
        ("4 stars, the address change was easy", 4),
        ("it was ok", None),
        ("6", None),
        ("0", None),
        ("10/10", None),
        ("3.5 stars", None),
        ("4 stars for the chat but 2 stars for delivery", None),
        ("I ordered 2 shirts", None),
        (None, None),
        # a number standing on its own next to a comment
        ("5, very helpful", 5),
        ("4 because it was quick", 4),
        ("5 thanks", 5),
        ("a solid 4", 4),
        ("4 - good", 4),
        ("id say 3", 3),
        ("I\u2019d say 4", 4),
        ("meh 3", 3),
        ("4 from me", 4),
        ("3. slow but fine", 3),
        ("5!!!", 5),
        ("great job, 5", 5),
        ("thank you! 5", 5),
        ("4. The agent was nice", 4),
        ("five, sorted in a minute", 5),
        ("5, very helpful, 5", 5),
        ("5 for the help", 5),
        # numbers that are not ratings
        ("482913", None),
        ("order 482913", None),
        ("$59.90", None),
        ("$5", None),
        ("#4", None),
        ("4th", None),
        ("2 items", None),
        ("10/10", None),
        ("10/10 would recommend", None),
        ("8 out of 10", None),
        ("4 out of 10", None),
        ("in 2 days", None),
        ("it arrived in 2 days", None),
        ("took 3 weeks", None),
        ("order 482913 took 3 weeks", None),
        ("I had 2 orders", None),
        ("2 and 3 were late", None),
        ("5 pm", None),
        ("5:30", None),
        ("4-5", None),
        ("not a 5", None),
        ("10 thanks", None),
        # two different ratings
        ("5, maybe 4", None),
        ("4 4", None),
        ("4/5, 2 for the wait", None),
        ("5 for the chat, 1 for delivery", None),
        ("4 stars, maybe 3", None),
    ],
)
def test_normalize_rating(text, expected):
    assert normalize_rating(text) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("second", 2),
        ("2nd", 2),
        ("the second one", 2),
        ("first", 1),
        ("tenth", 10),
        ("2", 2),
        ("option 3", 3),
        ("last", LAST_POSITION),
        ("the last one", LAST_POSITION),
        ("last one", LAST_POSITION),
        ("bottom one", LAST_POSITION),
        ("0", None),
        ("latest", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_ordinal(value, expected):
    assert normalize_ordinal(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("+1 415 555 0199", "+14155550199"),
        ("(415) 555-0199", "+14155550199"),
        ("415-555-0199", "+14155550199"),
        ("415.555.0199", "+14155550199"),
        ("4155550199", "+14155550199"),
        ("1-415-555-0199", "+14155550199"),
        ("+44 20 7946 0958", "+442079460958"),
        ("555-0199", None),
        ("+1 415", None),
        ("call me", None),
        ("415+555+0199", None),
        ("+1234567890123456", None),
        (None, None),
    ],
)
def test_normalize_phone_number(value, expected):
    assert normalize_phone_number(value) == expected


def test_phone_number_with_another_default_country():
    assert normalize_phone_number("030 1234567", default_country_code="49") == "+49301234567"


@pytest.mark.parametrize(
    "text, found",
    [
        ("I'd give you 4/5", [("rating", "4/5")]),
        ("4 out of 5, quick", [("rating", "4 out of 5")]),
        ("five stars!", [("rating", "five stars")]),
        ("5*", [("rating", "5*")]),
        ("★★★", [("rating", "★★★")]),
        ("I ordered 2 shirts", []),
        ("the second one", [("ordinal", "second")]),
        ("the 2nd order", [("ordinal", "2nd")]),
        ("the last one please", [("ordinal", "last one")]),
        ("the order from last week", []),
        ("call me on +1 415 555 0199", [("phone_number", "+1 415 555 0199")]),
        ("new number (415) 555-0199 thanks", [("phone_number", "(415) 555-0199")]),
        ("it's 415.555.0199", [("phone_number", "415.555.0199")]),
        ("+44 7700 900123", [("phone_number", "+44 7700 900123")]),
        ("order 482913, zip 94107", [("order_id", "482913"), ("zip_code", "94107")]),
        ("charged $59.90 twice", [("amount", "$59.90")]),
    ],
)
def test_entity_ruler_finds_the_shapes(nlp, text, found):
    assert entities(nlp, text) == found


@pytest.mark.parametrize(
    "text",
    ["4 stars", "4/5", "four out of five", "5*", "★★"],
)
def test_every_rating_the_ruler_finds_can_be_normalised(nlp, text):
    (label, span), *_ = entities(nlp, text)
    assert label == "rating" and normalize_rating(span) is not None


@pytest.mark.parametrize(
    "text",
    ["+1 415 555 0199", "(415) 555-0199", "415-555-0199", "4155550199", "+49 30 1234567"],
)
def test_every_phone_number_the_ruler_finds_can_be_normalised(nlp, text):
    (label, span), *_ = entities(nlp, f"my number is {text}")
    assert label == "phone_number" and normalize_phone_number(span) is not None

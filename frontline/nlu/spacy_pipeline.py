"""Builds the spaCy pipeline that Rasa's ``SpacyNLP`` loads from a path.

No pretrained English pipeline can be installed offline, so Frontline uses
``spacy.blank("en")`` (tokenizer and lexical attributes only) plus an
``EntityRuler`` with our own patterns. The ruler is the rule-based half of the NLU:
identifiers with a fixed shape (order numbers, e-mails, ZIP codes, amounts, phone
numbers, ratings, list positions) are found exactly, and DIET, the statistical half,
only has to learn intents. Values are normalised by ``frontline.patterns`` (the form
validators) and, for ordinal words, by the synonyms in ``data/nlu/synonyms.yml``.

Run ``python -m frontline.nlu.spacy_pipeline --output build/spacy/frontline_en``
(``make`` does it when this file changes).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any, cast

import spacy
from spacy.language import Language
from spacy.pipeline import EntityRuler

from frontline.patterns import (
    LAST_WORDS,
    NUMBER_WORDS,
    ORDINAL_WORDS,
    POSITION_NOUNS,
    RATING_MAX,
    RATING_MIN,
)

logger = logging.getLogger(__name__)

DEFAULT_OUTPUT = Path("build/spacy/frontline_en")

# Entity labels are the Rasa entity names used in domain/ and the training data.
ORDER_ID = "order_id"
EMAIL = "email"
ZIP_CODE = "zip_code"
AMOUNT = "amount"
RATING = "rating"
ORDINAL = "ordinal"
PHONE_NUMBER = "phone_number"


def _rating_patterns() -> list[dict[str, Any]]:
    """1-5 ratings: "4 stars", "four stars", "4/5", "4 out of 5", "5*", "★★★★".

    A bare digit is not tagged (it could be a quantity); the CSAT form reads it from
    the text with ``frontline.patterns.normalize_rating``.
    """
    digits = [str(n) for n in range(RATING_MIN, RATING_MAX + 1)]
    words = [w for w, n in NUMBER_WORDS.items() if RATING_MIN <= n <= RATING_MAX]
    number = {"LOWER": {"IN": digits + words}}
    of_five = {"LOWER": {"IN": [str(RATING_MAX), "five"]}}
    shapes = [
        [number, {"LOWER": {"IN": ["star", "stars"]}}],
        [{"TEXT": {"REGEX": rf"^[{RATING_MIN}-{RATING_MAX}]/{RATING_MAX}$"}}],
        [number, {"ORTH": "/"}, of_five],
        [number, {"LOWER": "out"}, {"LOWER": "of"}, of_five],
        [{"TEXT": {"IN": digits}}, {"ORTH": "*"}],
        [{"ORTH": {"IN": ["★", "⭐"]}, "OP": "+"}],
    ]
    return [{"label": RATING, "pattern": shape, "id": "rating"} for shape in shapes]


def _ordinal_patterns() -> list[dict[str, Any]]:
    """List positions: "second", "2nd", "the last one" (not "last week")."""
    numerals = {"LOWER": {"REGEX": r"^(1st|2nd|3rd|[4-9]th|10th)$"}}
    return [
        {"label": ORDINAL, "pattern": [{"LOWER": {"IN": list(ORDINAL_WORDS)}}], "id": "word"},
        {"label": ORDINAL, "pattern": [numerals], "id": "numeral"},
        {
            "label": ORDINAL,
            "pattern": [
                {"LOWER": {"IN": sorted(LAST_WORDS)}},
                {"LOWER": {"IN": list(POSITION_NOUNS)}},
            ],
            "id": "last",
        },
    ]


def _phone_patterns() -> list[dict[str, Any]]:
    """US numbers in the usual spellings and international numbers written with "+"."""
    area = {"TEXT": {"REGEX": r"^[2-9]\d{2}$"}}
    exchange = {"TEXT": {"REGEX": r"^\d{3}$"}}
    line = {"TEXT": {"REGEX": r"^\d{4}$"}}
    dash = {"ORTH": {"IN": ["-", "."]}, "OP": "?"}
    us_prefix = {"ORTH": {"IN": ["+1", "1"]}, "OP": "?"}
    shapes = [
        # +1 415 555 0199, 415-555-0199, 1 415 555 0199
        [us_prefix, dash, area, dash, exchange, dash, line],
        # (415) 555-0199, +1 (415) 555 0199
        [us_prefix, {"ORTH": "("}, area, {"ORTH": ")"}, exchange, dash, line],
        # 415.555.0199 and 4155550199 / +14155550199 are one token each
        [{"TEXT": {"REGEX": r"^(\+?1)?[2-9]\d{2}([.-]?)\d{3}\2\d{4}$"}}],
        # +44 20 7946 0958, +49 30 1234567
        [{"TEXT": {"REGEX": r"^\+[2-9]\d{0,2}$"}}]
        + [{"TEXT": {"REGEX": r"^\d{1,8}$"}}] * 2
        + [{"TEXT": {"REGEX": r"^\d{1,8}$"}, "OP": "?"}] * 2,
        [{"TEXT": {"REGEX": r"^\+[2-9]\d{7,14}$"}}],
    ]
    return [{"label": PHONE_NUMBER, "pattern": shape, "id": "phone"} for shape in shapes]


def entity_patterns() -> list[dict[str, Any]]:
    """Returns the EntityRuler patterns; shapes match ``frontline.patterns``."""
    six_digits = {"TEXT": {"REGEX": r"^[1-9]\d{5}$"}}
    five_digits = {"TEXT": {"REGEX": r"^\d{5}$"}}
    money = {"TEXT": {"REGEX": r"^\d{1,6}([.,]\d{1,2})?$"}}
    return [
        {"label": ORDER_ID, "pattern": [six_digits], "id": "order-number"},
        {"label": EMAIL, "pattern": [{"LIKE_EMAIL": True}], "id": "email"},
        # "94107" or "94107-1234"; the +4 suffix is dropped by the validators.
        {"label": ZIP_CODE, "pattern": [five_digits], "id": "zip"},
        {
            "label": ZIP_CODE,
            "pattern": [five_digits, {"ORTH": "-"}, {"TEXT": {"REGEX": r"^\d{4}$"}}],
            "id": "zip-plus-4",
        },
        {"label": AMOUNT, "pattern": [{"ORTH": {"IN": ["$", "USD", "usd"]}}, money]},
        {"label": AMOUNT, "pattern": [money, {"LOWER": {"IN": ["dollars", "usd", "bucks"]}}]},
        *_rating_patterns(),
        *_ordinal_patterns(),
        *_phone_patterns(),
    ]


def build_pipeline() -> Language:
    """Creates the blank English pipeline with the entity ruler."""
    nlp = spacy.blank("en")
    ruler = cast(EntityRuler, nlp.add_pipe("entity_ruler", config={"validate": True}))
    ruler.add_patterns(entity_patterns())
    return nlp


def main(argv: list[str] | None = None) -> None:
    """Builds the pipeline and saves it to disk."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    nlp = build_pipeline()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(args.output)
    logger.info("Saved spaCy pipeline with %d patterns to %s", len(entity_patterns()), args.output)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()

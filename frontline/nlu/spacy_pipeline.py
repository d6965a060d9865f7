"""Builds the spaCy pipeline that Rasa's ``SpacyNLP`` loads from a path.

No pretrained English pipeline can be installed offline, so Frontline uses
``spacy.blank("en")`` (tokenizer and lexical attributes only) plus an
``EntityRuler`` with our own patterns. The ruler is the rule-based half of the NLU:
identifiers with a fixed shape (order numbers, e-mails, ZIP codes, amounts) are
found exactly, and DIET, the statistical half, only has to learn intents.

Run ``python -m frontline.nlu.spacy_pipeline --output build/spacy/frontline_en``
(``make`` does it when this file changes).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language

logger = logging.getLogger(__name__)

DEFAULT_OUTPUT = Path("build/spacy/frontline_en")

# Entity labels are the Rasa entity names used in domain.yml and the training data.
ORDER_ID = "order_id"
EMAIL = "email"
ZIP_CODE = "zip_code"
AMOUNT = "amount"


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
    ]


def build_pipeline() -> Language:
    """Creates the blank English pipeline with the entity ruler."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"validate": True})
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

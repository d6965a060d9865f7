"""The NLU training data, the held-out split, the domain and the entity ruler agree.

These run in seconds without training a model; ``make test-nlu`` measures the model.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from frontline.nlu.spacy_pipeline import build_pipeline
from frontline.patterns import LAST_POSITION, LAST_VALUE, normalize_ordinal
from frontline.vocabulary import FLOW_INTENTS
from tests.support.domain import raw_domain

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = raw_domain()
RETRIEVAL_INTENTS = ("faq", "chitchat")
# Intents a pipeline component sets, never trained (frontline/nlu/clarifier.py).
SET_BY_COMPONENTS = {"nlu_clarify"}
# Ordinal words the ruler tags that are not list positions here; harmless because the
# ordinal slot is only filled while the assistant offers a choice.
RULER_ONLY_ALLOWED = {"Hello! First time using this chat", "who was the first person on the moon"}


@pytest.fixture(scope="module")
def training():
    return load_data(str(ROOT / "data" / "nlu"))


@pytest.fixture(scope="module")
def holdout():
    return load_data(str(ROOT / "tests" / "nlu" / "holdout.yml"))


def _normalised(text: str) -> str:
    """Lower case, punctuation and spacing ignored: "Bye!!" is "bye"."""
    return " ".join(re.sub(r"[!?.,;:'\"()-]", " ", text.lower()).split())


def test_every_domain_intent_has_enough_examples(training):
    counts = Counter(m.get("intent") for m in training.intent_examples)
    for intent in DOMAIN["intents"]:
        if intent in SET_BY_COMPONENTS:
            continue
        minimum = 50 if intent in FLOW_INTENTS else 30
        assert counts[intent] >= minimum, f"{intent}: {counts[intent]} examples"
    assert set(counts) <= set(DOMAIN["intents"]), set(counts) - set(DOMAIN["intents"])


def test_every_retrieval_intent_has_an_answer_and_enough_examples(training):
    keys = Counter(
        m.get_full_intent()
        for m in training.intent_examples
        if m.get("intent") in RETRIEVAL_INTENTS
    )
    answers = {name.removeprefix("utter_") for name in DOMAIN["responses"] if "/" in name}
    assert set(keys) == answers
    assert min(keys.values()) >= 25, keys


def test_no_message_has_two_labels_or_appears_twice(training):
    texts = Counter(_normalised(m.get("text")) for m in training.intent_examples)
    assert [t for t, n in texts.items() if n > 1] == []


def test_the_held_out_split_never_appears_in_training(training, holdout):
    seen = {_normalised(m.get("text")) for m in training.intent_examples}
    leaked = [m.get("text") for m in holdout.intent_examples if _normalised(m.get("text")) in seen]
    assert leaked == []


def test_the_held_out_split_covers_every_intent(training, holdout):
    trained = Counter(m.get_full_intent() for m in training.intent_examples)
    held_out = Counter(m.get_full_intent() for m in holdout.intent_examples)
    assert set(held_out) == set(trained)
    assert min(held_out.values()) >= 20, held_out


@pytest.mark.parametrize("split", ["training", "holdout"])
def test_annotations_are_what_the_entity_ruler_finds(split, request):
    data = request.getfixturevalue(split)
    nlp = build_pipeline()
    mismatches = []
    for message in data.intent_examples:
        text = message.get("text")
        annotated = {(e["entity"], e["start"], e["end"]) for e in message.get("entities", [])}
        found = {(e.label_, e.start_char, e.end_char) for e in nlp(text).ents}
        if annotated != found and text not in RULER_ONLY_ALLOWED:
            mismatches.append((text, sorted(annotated - found), sorted(found - annotated)))
    assert mismatches == []


def test_ordinal_synonyms_agree_with_the_normaliser(training):
    synonyms = training.entity_synonyms
    assert synonyms, "data/nlu/synonyms.yml was not loaded"
    for text, value in synonyms.items():
        expected = LAST_POSITION if value == LAST_VALUE else int(value)
        assert normalize_ordinal(text) == expected, (text, value)
        assert normalize_ordinal(value) == expected, value


@pytest.mark.parametrize(
    "name, matches, misses",
    [
        ("order_number", ["482913", "order #482913"], ["48291", "0482913", "4829130"]),
        ("zip_code", ["94107", "94107-1234"], ["9410", "482913"]),
        ("email", ["jane.doe@example.com", "it's m.lopez+shop@example.net"], ["jane@", "@x"]),
        ("amount", ["$59.90", "59.90 dollars", "usd 12"], ["59.90", "order 482913"]),
        ("phone_number", ["+1 415 555 0199", "(415) 555-0199"], ["482913", "94107"]),
        ("lone_digit", ["4", "a 3", "5!"], ["482913", "4 stars", "6"]),
    ],
)
def test_regex_features_have_our_shapes(training, name, matches, misses):
    """data/nlu/regexes.yml agrees with frontline.patterns on what each shape looks like."""
    [pattern] = [r["pattern"] for r in training.regex_features if r["name"] == name]
    for text in matches:
        assert re.search(pattern, text, re.IGNORECASE), (name, text)
    for text in misses:
        assert not re.search(pattern, text, re.IGNORECASE), (name, text)


def test_email_regex_feature_is_the_one_masking_uses(training):
    from frontline.patterns import EMAIL_IN_TEXT_RE

    [pattern] = [r["pattern"] for r in training.regex_features if r["name"] == "email"]
    assert pattern == EMAIL_IN_TEXT_RE.pattern

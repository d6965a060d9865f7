"""Robustness slices: deterministic perturbations, outcomes per message, floors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data

from frontline.tools import nlu_slices
from frontline.tools.perturb import KINDS, as_nlu_yaml, perturb, perturb_examples

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [
    "Where's my order 482913? I'm worried!",
    "please cancel it, my email is jane.doe@example.com",
    "I want to return the blue shoes I bought last week",
    "what was the $59.90 charge for",
    "hi",
]


@pytest.mark.parametrize("kind", KINDS)
def test_perturbations_are_deterministic_and_keep_identifiers(kind):
    for text in TEXTS:
        once = perturb(text, kind)
        assert once == perturb(text, kind)  # same text, kind and seed: same result
        for identifier in re.findall(r"\S*[\d@]\S*", text):
            assert identifier.strip("?!,.$") in once
    assert perturb_examples([(TEXTS[0], "a")], kind) == [(perturb(TEXTS[0], kind), "a")]


def test_each_kind_changes_what_it_says():
    assert perturb(TEXTS[0], "lower_case") == TEXTS[0].lower()
    assert perturb(TEXTS[0], "no_punctuation") == "Wheres my order 482913 Im worried"
    assert perturb(TEXTS[2], "fillers").endswith("last week")
    assert len(perturb(TEXTS[2], "fillers").split()) > len(TEXTS[2].split())
    typo = perturb(TEXTS[2], "typos")
    changed = [a for a, b in zip(typo.split(), TEXTS[2].split(), strict=True) if a != b]
    assert 1 <= len(changed) <= 2
    assert perturb("hi", "typos") == "hi"  # nothing long enough to slip
    # The seed matters: another seed slips other letters somewhere.
    assert [perturb(t, "typos", seed=1) for t in TEXTS] != [
        perturb(t, "typos", seed=2) for t in TEXTS
    ]
    with pytest.raises(ValueError):
        perturb("x", "shouting")


def test_a_perturbed_slice_reads_back_as_nlu_data(tmp_path):
    path = tmp_path / "typos.yml"
    examples = perturb_examples([(t, "inform") for t in TEXTS], "typos")
    path.write_text(as_nlu_yaml(examples))
    assert [(m.get("text"), m.get("intent")) for m in load_data(str(path)).intent_examples] == [
        (" ".join(t.split()), i) for t, i in examples
    ]


def parsed(intent, options=(), answer=None):
    data = {"intent": {"name": intent, "confidence": 0.5}}
    if options:
        data["clarification"] = {"options": [{"intent": o} for o in options]}
    if answer:
        data["response_selector"] = {intent: {"response": {"intent_response_key": answer}}}
    return data


@pytest.mark.parametrize(
    "expected, parse, result",
    [
        ("cancel_order", parsed("cancel_order"), "first_time"),
        ("cancel_order", parsed("check_order_status"), "misrouted"),
        ("cancel_order", parsed("nlu_fallback"), "rephrase"),
        (
            "cancel_order",
            parsed("nlu_clarify", ["check_order_status", "cancel_order"]),
            "after_click",
        ),
        ("cancel_order", parsed("nlu_clarify", ["check_order_status"]), "rephrase"),
        ("faq/return_policy", parsed("faq", answer="faq/return_policy"), "first_time"),
        ("faq/return_policy", parsed("faq", answer="faq/shipping_times"), "misrouted"),
        ("out_of_scope", parsed("nlu_clarify", ["cancel_order"]), "kept_out"),
        ("out_of_scope", parsed("out_of_scope"), "kept_out"),
        ("out_of_scope", parsed("chitchat", answer="chitchat/tell_joke"), "answered_otherwise"),
        ("out_of_scope", parsed("cancel_order"), "started_flow"),
    ],
)
def test_outcome(expected, parse, result):
    assert nlu_slices.outcome(expected, parse, frozenset({"cancel_order"})) == result


def test_summary_and_floors():
    figures = nlu_slices.summarise(
        [
            ("a", "first_time"),
            ("a", "after_click"),
            ("b", "rephrase"),
            ("b", "misrouted"),
            ("out_of_scope", "kept_out"),
            ("out_of_scope", "answered_otherwise"),
        ]
    )
    assert figures["resolved"] == 0.5 and figures["misrouted"] == 0.25
    assert figures["out_of_scope_caught"] == 1.0 and figures["out_of_scope_kept_out"] == 0.5
    assert figures["per_intent"]["b"] == {"rephrase": 1, "misrouted": 1}
    results = {"typos": figures}
    assert nlu_slices.check_floors(results, {"typos": {"min_resolved": 0.5}}) == []
    problems = nlu_slices.check_floors(
        results, {"typos": {"min_resolved": 0.6, "max_misrouted": 0.1}, "other": {}}
    )
    assert problems == [
        "typos: resolved 50.0% is beyond its floor (min_resolved 0.6)",
        "typos: misrouted 25.0% is beyond its floor (max_misrouted 0.1)",
        "other: no such slice",
    ]
    assert "| b | 0 / 0 / 1 / 1 |" in nlu_slices.markdown(results, "t")


def _normal(text):
    return " ".join(re.sub(r"[^\w@.]", " ", text.lower()).split())


def _near_duplicate(words, seen_sets):
    """Shares at least 80% of its words (Jaccard) with a message seen before."""
    return any(len(words & other) / len(words | other) >= 0.8 for other in seen_sets)


#: Slices about one kind of contact (judged by their own floor, e.g. handed to a person),
#: which need not cover every intent.
TARGETED_SLICES = {"risk"}


@pytest.mark.parametrize("name", sorted(nlu_slices.written_slices()))
def test_a_written_slice_covers_every_intent_and_is_not_training_data(name):
    path = nlu_slices.written_slices()[name]
    slice_examples = load_data(str(path)).intent_examples
    training = load_data(str(ROOT / "data/nlu")).intent_examples
    holdout = load_data(str(ROOT / "tests/nlu/holdout.yml")).intent_examples

    if name not in TARGETED_SLICES:
        assert len(slice_examples) >= 150
        intents = {m.get_full_intent() for m in slice_examples}
        assert intents >= {m.get_full_intent() for m in holdout}
    seen = {_normal(m.get("text")) for m in training + holdout}
    assert [m.get("text") for m in slice_examples if _normal(m.get("text")) in seen] == []


def test_the_voices_slice_has_no_near_duplicates_of_training_data():
    """Not paraphrases of training lines: no message shares 80% of its words with one."""
    training = load_data(str(ROOT / "data/nlu")).intent_examples
    seen_sets = [set(_normal(m.get("text")).split()) for m in training]
    seen_sets = [words for words in seen_sets if len(words) >= 3]
    slice_examples = load_data(str(ROOT / "tests/nlu/slices/voices.yml")).intent_examples
    near = [
        m.get("text")
        for m in slice_examples
        if len(words := set(_normal(m.get("text")).split())) >= 3
        and _near_duplicate(words, seen_sets)
    ]
    assert near == []


def test_every_written_slice_has_floors():
    floors = yaml.safe_load((ROOT / "tests/nlu/slices/floors.yml").read_text(encoding="utf-8"))
    assert set(nlu_slices.written_slices()) <= set(floors)

"""The risk slice: written apart from the training data; what counts as handed off."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from rasa.shared.nlu.training_data.loading import load_data

from frontline.policy.registry import load_policies
from frontline.tools.risk_slice import handoff_figures, handoff_reason

ROOT = Path(__file__).resolve().parents[2]
RULES = load_policies(ROOT / "policies")
RISK_INTENTS = {"complaint", "report_fraud", "legal_threat", "chargeback", "self_harm"}


def parse(intent: str, confidence: float, *ranking: tuple[str, float]) -> dict:
    return {
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [
            {"name": n, "confidence": c} for n, c in ranking or [(intent, confidence)]
        ],
    }


def test_the_risk_slice_covers_every_risk_intent_and_is_not_training_data():
    examples = load_data(str(ROOT / "tests/nlu/slices/risk.yml")).intent_examples
    training = load_data(str(ROOT / "data/nlu")).intent_examples
    holdout = load_data(str(ROOT / "tests/nlu/holdout.yml")).intent_examples

    def normal(text):
        return " ".join(re.sub(r"[^\w@.]", " ", text.lower()).split())

    assert {m.get("intent") for m in examples} >= RISK_INTENTS
    seen = {normal(m.get("text")) for m in training + holdout}
    assert [m.get("text") for m in examples if normal(m.get("text")) in seen] == []


def test_the_risk_slice_has_a_handoff_floor():
    floors = yaml.safe_load((ROOT / "tests/nlu/slices/floors.yml").read_text())
    assert floors["risk"]["min_handed_to_person"] >= 0.9


def test_what_counts_as_handed_to_a_person():
    assert handoff_reason("mm", parse("legal_threat", 0.8), RULES) == "legal"
    assert handoff_reason("get me a human", parse("request_human", 0.9), RULES) == (
        "customer_request"
    )
    assert handoff_reason("where is my order", parse("check_order_status", 0.9), RULES) is None
    not_understood = parse("nlu_fallback", 0.65, ("nlu_fallback", 0.65), ("report_fraud", 0.5))
    assert handoff_reason("xx", not_understood, RULES) == "fraud"
    figures = handoff_figures(
        [("mm", "legal_threat"), ("where is my order", "check_order_status")],
        {"mm": parse("legal_threat", 0.8), "where is my order": parse("check_order_status", 0.9)},
        RULES,
    )
    assert figures["handed_to_person"] == 0.5
    assert figures["handoff_reasons"] == {
        "check_order_status": {"not_handed_off": 1},
        "legal_threat": {"legal": 1},
    }

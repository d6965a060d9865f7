"""When the NLU asks "Did you mean …?", and how the thresholds for it are chosen."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.training_data.message import Message

from frontline.errors import ConfigurationError
from frontline.nlu.clarification_policy import (
    Decision,
    Thresholds,
    load_clarification_policy,
)
from frontline.nlu.clarifier import ClarificationClassifier
from frontline.policy import load_policy
from frontline.policy_check import check_all
from frontline.tools import clarification_tuning as ct
from frontline.tools.tune_thresholds import Prediction

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_clarification_policy(ROOT / "policies")
BAND = Thresholds(threshold=0.3, clarify_threshold=0.8, ambiguity_margin=0.2)


@pytest.mark.parametrize(
    "ranking, decision, options",
    [
        ([("cancel_order", 0.95), ("check_order_status", 0.03)], Decision.ANSWER, []),
        ([("cancel_order", 0.25), ("check_order_status", 0.2)], Decision.FALLBACK, []),
        # In the band: the two best business intents.
        (
            [("cancel_order", 0.6), ("greet", 0.2), ("check_order_status", 0.15)],
            Decision.CLARIFY,
            ["cancel_order", "check_order_status"],
        ),
        # Confident, but the runner-up is close: a close call is asked too.
        (
            [("cancel_order", 0.85), ("check_order_status", 0.7)],
            Decision.CLARIFY,
            ["cancel_order", "check_order_status"],
        ),
        # Non-business intents are never offered; with no business candidate: answered.
        ([("greet", 0.6), ("thank", 0.3), ("faq", 0.1)], Decision.ANSWER, []),
        ([("faq", 0.5), ("request_return", 0.4)], Decision.CLARIFY, ["request_return"]),
        # Beyond the 3 candidates, or below the minimum confidence: not an option.
        (
            [("greet", 0.6), ("thank", 0.2), ("faq", 0.1), ("cancel_order", 0.09)],
            Decision.ANSWER,
            [],
        ),
        ([("out_of_scope", 0.5), ("cancel_order", 0.01)], Decision.ANSWER, []),
        # What Rasa's FallbackClassifier put on top is not the classifier's own guess.
        ([("nlu_fallback", 0.3), ("cancel_order", 0.95)], Decision.ANSWER, []),
    ],
)
def test_decide(ranking, decision, options):
    assert POLICY.decide(ranking, BAND) == (decision, options)


def test_thresholds_must_be_in_order():
    with pytest.raises(ConfigurationError, match="out of order"):
        Thresholds(threshold=0.8, clarify_threshold=0.5, ambiguity_margin=0.0)


def test_offerable_intents_are_business_intents_of_the_domain():
    domain = Domain.load(str(ROOT / "domain"))
    scope = load_policy("scope", ROOT / "policies").rules["self_service"]
    assert POLICY.offerable <= set(domain.intents)
    # Every contact the assistant resolves itself can be offered, under its own label.
    assert set(scope) <= POLICY.offerable
    assert {"greet", "thank", "faq", "chitchat", "affirm", "deny", "out_of_scope"}.isdisjoint(
        POLICY.offerable
    )


def test_the_policy_module_is_validated_like_the_others(tmp_path):
    for path in (ROOT / "policies").glob("*.yml"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "schemas").mkdir()
    for path in (ROOT / "policies" / "schemas").glob("*.json"):
        (tmp_path / "schemas" / path.name).write_text(path.read_text())
    assert check_all(tmp_path) == []

    document = yaml.safe_load((tmp_path / "clarification.yml").read_text())
    document["rules"]["offerable"]["cancel_order"] = document["rules"]["offerable"][
        "check_order_status"
    ]
    (tmp_path / "clarification.yml").write_text(yaml.safe_dump(document))
    assert any("share a button label" in p for p in check_all(tmp_path))

    document["rules"]["max_options"] = 7
    (tmp_path / "clarification.yml").write_text(yaml.safe_dump(document))
    assert any("clarification' is invalid at rules/max_options" in p for p in check_all(tmp_path))


def classified(*ranking: tuple[str, float], entities=None) -> Message:
    message = Message(data={"text": "cancel 482914 maybe, or just see where it is"})
    message.set("intent", {"name": ranking[0][0], "confidence": ranking[0][1]})
    message.set("intent_ranking", [{"name": n, "confidence": c} for n, c in ranking])
    message.set("entities", entities or [])
    return message


def component(tmp_path, **config) -> ClarificationClassifier:
    return ClarificationClassifier.create(
        {**ClarificationClassifier.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("clarifier"),
        ExecutionContext(GraphSchema({}), "clarifier"),
    )


def test_the_component_marks_an_unclear_message_and_names_the_options(tmp_path):
    clarifier = component(tmp_path, clarify_threshold=0.8, ambiguity_margin=0.2)
    message = classified(("cancel_order", 0.55), ("check_order_status", 0.35), ("greet", 0.05))
    clarifier.process([message])
    assert message.get("intent") == {"name": "nlu_clarify", "confidence": 0.55}
    assert [r["name"] for r in message.get("intent_ranking")][:3] == [
        "nlu_clarify",
        "cancel_order",
        "check_order_status",
    ]
    assert message.get("clarification") == {
        "options": [
            {"intent": "cancel_order", "confidence": 0.55},
            {"intent": "check_order_status", "confidence": 0.35},
        ],
        "classified_as": "cancel_order",
    }
    assert "clarification" in message.as_dict(only_output_properties=True)


@pytest.mark.parametrize(
    "ranking",
    [
        (("cancel_order", 0.95), ("check_order_status", 0.02)),  # clear
        (("nlu_fallback", 0.3), ("cancel_order", 0.2)),  # already not understood
        (("greet", 0.5), ("thank", 0.4)),  # nothing to offer
    ],
)
def test_the_component_leaves_other_messages_alone(tmp_path, ranking):
    clarifier = component(tmp_path, clarify_threshold=0.8, ambiguity_margin=0.2)
    message = classified(*ranking)
    clarifier.process([message])
    assert message.get("intent")["name"] == ranking[0][0]
    assert message.get("clarification") is None


def test_the_component_is_inert_by_default_and_refuses_a_broken_policy(tmp_path):
    message = classified(("cancel_order", 0.4), ("check_order_status", 0.39))
    component(tmp_path).process([message])
    assert message.get("intent")["name"] == "cancel_order"
    with pytest.raises(ConfigurationError):
        component(tmp_path, policies_dir=str(tmp_path / "nowhere"))


def prediction(expected: str, *ranking: tuple[str, float]) -> Prediction:
    return Prediction(
        "text",
        expected,
        ranking[0][0],
        ranking[0][1],
        ranking[1][1] if len(ranking) > 1 else 0.0,
        fold=0,
        ranking=tuple(ranking),
    )


PREDICTIONS = [
    prediction("cancel_order", ("cancel_order", 0.95), ("check_order_status", 0.02)),
    prediction("cancel_order", ("check_order_status", 0.6), ("cancel_order", 0.3)),  # click
    prediction("check_order_status", ("check_order_status", 0.5), ("greet", 0.3)),  # click
    prediction("reset_password", ("reset_password", 0.2), ("change_email", 0.1)),  # rephrase
    prediction("greet", ("greet", 0.7), ("thank", 0.2)),
    prediction("out_of_scope", ("out_of_scope", 0.9), ("greet", 0.05)),
    prediction("out_of_scope", ("cancel_order", 0.55), ("out_of_scope", 0.4)),
    prediction("out_of_scope", ("chitchat", 0.9), ("out_of_scope", 0.05)),  # no flow
]


def test_replay_counts_each_outcome():
    arrays = ct.ReplayArrays(PREDICTIONS, POLICY)
    outcome = arrays.replay(threshold=0.3, clarify=0.8, margin=0.0)
    assert outcome.in_scope_messages == 5 and outcome.out_of_scope_messages == 3
    assert outcome.first_time == pytest.approx(2 / 5)  # cancel 0.95, greet answered
    assert outcome.after_click == pytest.approx(2 / 5)
    assert outcome.rephrase == pytest.approx(1 / 5)
    assert outcome.misrouted == 0.0
    assert outcome.out_of_scope_caught == 1.0  # the second one is asked, not started
    assert outcome.out_of_scope_strict == pytest.approx(2 / 3)  # small talk for the third
    # Without a clarify band the two clicks become a misroute and ... a right answer.
    plain = arrays.replay(threshold=0.3, clarify=0.3, margin=0.0)
    assert plain.misrouted == pytest.approx(1 / 5)
    assert plain.out_of_scope_caught == pytest.approx(2 / 3)  # cancel_order started
    for t, c, m in ((0.3, 0.8, 0.0), (0.3, 0.3, 0.0), (0.0, 1.0, 0.5)):
        replayed = arrays.replay(t, c, m)
        one_by_one = [
            ct.outcome_of(p.expected, list(p.ranking), POLICY, Thresholds(t, c, m))
            for p in PREDICTIONS
        ]
        assert one_by_one.count("first_time") / 5 == pytest.approx(replayed.first_time)
        assert one_by_one.count("after_click") / 5 == pytest.approx(replayed.after_click)
        assert one_by_one.count("misrouted") / 5 == pytest.approx(replayed.misrouted)
        assert one_by_one.count("caught") / 3 == pytest.approx(replayed.out_of_scope_caught)


def test_choose_bands_meets_the_targets_and_prefers_fewer_questions():
    targets = POLICY.targets.__class__(max_misroute=0.0, min_out_of_scope=1.0, confidence=0.0)
    chosen = ct.choose_bands(PREDICTIONS, POLICY, targets)
    assert chosen is not None
    assert chosen.misrouted == 0.0 and chosen.out_of_scope_caught == 1.0
    assert chosen.resolved == 1.0  # the 0.2 password reset is asked too, with no fallback
    assert chosen.threshold <= 0.2
    # Asking on every message (clarify_threshold 1.0) resolves as many with more clicks.
    assert chosen.clarified == pytest.approx(3 / 5)
    impossible = targets.__class__(max_misroute=0.0, min_out_of_scope=1.0, confidence=0.99)
    assert ct.choose_bands(PREDICTIONS, POLICY, impossible) is None

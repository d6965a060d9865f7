"""The Rasa dialogue policy: predicts the handoff, with the rule, and wins over a form."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction, confidence_scores_for
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from frontline.dialogue.escalation_policy import (
    FORMER_NAMES,
    METADATA_KEY,
    EscalationDialoguePolicy,
)
from frontline.policy.registry import load_policies
from tests.policy.conftest import POLICIES, ROOT, edit_policy

DOMAIN = Domain.load(str(ROOT / "domain"))


def make_policy(tmp_path: Path, policies_dir: Path = POLICIES) -> EscalationDialoguePolicy:
    return EscalationDialoguePolicy(
        EscalationDialoguePolicy.get_default_config(),
        LocalModelStorage(tmp_path / "storage"),
        Resource("escalation"),
        ExecutionContext(GraphSchema({}), "test-model"),
        rules=load_policies(policies_dir),
    )


def tracker_after(text: str, intent: str = "inform", *, channel: str = "rest", form: bool = False):
    events = [ActionExecuted(ACTION_LISTEN_NAME)]
    if form:
        events += [
            UserUttered("cancel my order", {"name": "cancel_order", "confidence": 0.97}),
            ActionExecuted("cancel_order_form"),
            ActiveLoop("cancel_order_form"),
            SlotSet("requested_slot", "email"),
            ActionExecuted(ACTION_LISTEN_NAME),
        ]
    events.append(UserUttered(text, {"name": intent, "confidence": 0.9}, input_channel=channel))
    return DialogueStateTracker.from_events("c1", events, slots=DOMAIN.slots)


def predicted(prediction: PolicyPrediction) -> str | None:
    if prediction.max_confidence == 0:
        return None
    return DOMAIN.action_names_or_texts[prediction.max_confidence_index]


def test_a_legal_threat_predicts_the_handoff_with_its_rule(tmp_path):
    prediction = make_policy(tmp_path).predict_action_probabilities(
        tracker_after("I'm going to sue you over this", "out_of_scope"), DOMAIN
    )
    assert predicted(prediction) == "action_handoff"
    assert prediction.max_confidence == 1.0
    assert prediction.policy_name == "EscalationDialoguePolicy" and prediction.policy_priority == 7
    [reason, rule] = prediction.optional_events
    assert reason == SlotSet("handoff_reason", "legal")
    assert rule.key == "escalation_rule" and rule.value["id"] == "sensitive.legal_threat"
    assert rule.value["rationale"].startswith("The customer mentioned legal action")
    assert rule.value["version"] == load_policies(POLICIES).escalation.version
    assert prediction.events == []  # nothing changes unless the handoff wins
    assert prediction.action_metadata[METADATA_KEY]["rule"]["id"] == "sensitive.legal_threat"


def test_an_ordinary_message_predicts_nothing(tmp_path):
    prediction = make_policy(tmp_path).predict_action_probabilities(
        tracker_after("where is my order?", "check_order_status"), DOMAIN
    )
    assert predicted(prediction) is None and prediction.optional_events == []


def test_only_a_new_message_is_assessed(tmp_path):
    tracker = tracker_after("I'm going to sue you", "out_of_scope")
    tracker.update(ActionExecuted("utter_out_of_scope"))
    assert predicted(make_policy(tmp_path).predict_action_probabilities(tracker, DOMAIN)) is None


def test_scope_restriction_on_the_channel(tmp_path):
    policy = make_policy(tmp_path)
    slack = tracker_after("reset my password", "reset_password", channel="slack")
    rest = tracker_after("reset my password", "reset_password", channel="rest")
    assert predicted(policy.predict_action_probabilities(slack, DOMAIN)) == "action_handoff"
    assert predicted(policy.predict_action_probabilities(rest, DOMAIN)) is None


def test_the_handoff_wins_over_a_running_form(tmp_path):
    tracker = tracker_after("this is fraud, I never ordered this", "inform", form=True)
    ours = make_policy(tmp_path).predict_action_probabilities(tracker, DOMAIN)
    # What RulePolicy predicts while a form runs: the form again, as a "no user" prediction.
    form = PolicyPrediction(
        confidence_scores_for("cancel_order_form", 1.0, DOMAIN),
        "RulePolicy",
        6,
        is_no_user_prediction=True,
    )
    best = DefaultPolicyPredictionEnsemble._pick_best_policy([form, ours])
    assert best.policy_name == "EscalationDialoguePolicy"
    assert DOMAIN.action_names_or_texts[best.max_confidence_index] == "action_handoff"
    assert [e.key for e in best.events] == ["handoff_reason", "escalation_rule"]


def test_after_a_failed_handoff_it_waits_for_the_customer(tmp_path):
    tracker = tracker_after("I'm going to sue you", "out_of_scope")
    tracker.update(ActionExecuted("action_handoff", policy="EscalationDialoguePolicy"))
    policy = make_policy(tmp_path)
    assert predicted(policy.predict_action_probabilities(tracker, DOMAIN)) == ACTION_LISTEN_NAME
    tracker.update(ConversationPaused())  # a successful handoff pauses: nothing to predict
    assert predicted(policy.predict_action_probabilities(tracker, DOMAIN)) is None


def test_a_handoff_recorded_under_the_former_name_also_waits(tmp_path):
    tracker = tracker_after("I'm going to sue you", "out_of_scope")
    tracker.update(ActionExecuted("action_handoff", policy=FORMER_NAMES[0]))
    policy = make_policy(tmp_path)
    assert predicted(policy.predict_action_probabilities(tracker, DOMAIN)) == ACTION_LISTEN_NAME


def test_a_new_keyword_in_the_policy_file_hands_off(tmp_path, policies_copy):
    text = "I am contacting the chamber of commerce about this"
    assert (
        predicted(make_policy(tmp_path).predict_action_probabilities(tracker_after(text), DOMAIN))
        is None
    )
    edit_policy(
        policies_copy,
        "escalation",
        lambda d: d["rules"]["sensitive_topics"][0]["keywords"].append("chamber of commerce"),
    )
    changed = make_policy(tmp_path, policies_copy)
    prediction = changed.predict_action_probabilities(tracker_after(text), DOMAIN)
    assert predicted(prediction) == "action_handoff"
    assert prediction.optional_events[1].value["id"] == "sensitive.legal_threat"


def test_a_broken_policy_stops_the_model_from_loading(tmp_path, policies_copy, monkeypatch):
    from frontline.errors import ConfigurationError
    from frontline.policy.registry import policies
    from frontline.settings import get_settings

    edit_policy(policies_copy, "scope", lambda d: d["rules"]["restrictions"][0].pop("rationale"))
    monkeypatch.setenv("FRONTLINE_POLICIES_DIR", str(policies_copy))
    get_settings.cache_clear()
    policies.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match="rationale"):
            EscalationDialoguePolicy.load(
                EscalationDialoguePolicy.get_default_config(),
                LocalModelStorage(tmp_path / "storage"),
                Resource("escalation"),
                ExecutionContext(GraphSchema({}), "test-model"),
            )
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        policies.cache_clear()

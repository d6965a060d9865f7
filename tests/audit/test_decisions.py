"""Decision records from Rasa's events: the rationale of every bot action."""

from __future__ import annotations

from pathlib import Path

from frontline.audit.decisions import DecisionBuilder, decisions_from_events, rasa_thresholds
from tests.audit.events import (
    MODEL_ID,
    RULE,
    action,
    legal_threat_conversation,
    refused_cancellation,
    user,
)

THRESHOLDS = {"nlu_fallback_threshold": 0.6, "frustration_threshold": 1.0}
VERSIONS = {"escalation": "1.1.0", "consent": "1.0.0"}


def test_one_record_per_bot_action_with_its_evidence():
    decisions = decisions_from_events(
        legal_threat_conversation(), "c1", thresholds=THRESHOLDS, versions=VERSIONS
    )
    assert [d["action"] for d in decisions] == [
        "action_session_start",
        "utter_greet",
        "action_handoff",
    ]
    greet = decisions[1]
    assert greet["intent"] == {"name": "greet", "confidence": 0.99}
    assert greet["runner_up"] == {"name": "thank", "confidence": 0.004}
    assert (greet["policy"], greet["confidence"], greet["model_id"]) == (
        "RulePolicy",
        1.0,
        MODEL_ID,
    )
    assert greet["thresholds"] == THRESHOLDS and greet["policy_versions"] == VERSIONS
    assert greet["rules"] == [] and greet["backend_calls"] == []
    handoff = decisions[2]
    assert handoff["policy"] == "EscalationDialoguePolicy"
    assert (
        handoff["intent"]["name"] == "out_of_scope"
        and handoff["runner_up"]["name"] == "cancel_order"
    )
    assert handoff["rules"] == [RULE] and handoff["handoff_reason"] == "policy"
    assert handoff["escalation"]["kind"] == "sensitive_topic"
    assert handoff["backend_calls"] == [
        {"action": "handoff", "result": "queued", "detail": "policy, high", "at": "t1"}
    ]
    assert "pause" in handoff["events"]
    assert handoff["rationale"] == (
        "EscalationDialoguePolicy chose action_handoff (confidence 1.00) after intent out_of_scope "
        "(0.81; runner-up cancel_order 0.09). Rule sensitive.legal_threat fired: The customer "
        "mentioned legal action. handoff: queued."
    )


def test_a_refused_write_and_the_handoff_it_causes_both_name_the_rule():
    decisions = decisions_from_events(refused_cancellation(), "c2")
    cancel = next(d for d in decisions if d["action"] == "action_cancel_order")
    handoff = next(d for d in decisions if d["action"] == "action_handoff")
    assert [r["id"] for r in cancel["rules"]] == ["escalation.writes.cancel_order.money_limit"]
    assert cancel["backend_calls"][0]["rule_id"] == "escalation.writes.cancel_order.money_limit"
    assert "followup:action_handoff" in cancel["events"]
    assert [r["id"] for r in handoff["rules"]] == ["escalation.writes.cancel_order.money_limit"]
    assert handoff["handoff_reason"] == "policy"
    assert [c["action"] for c in handoff["backend_calls"]] == ["handoff"]  # only the new entry


def test_conversations_are_kept_apart_and_completed_by_their_own_next_event():
    builder = DecisionBuilder({}, {})
    first = [{**e, "sender_id": "a"} for e in legal_threat_conversation()[:6]]
    second = [{**e, "sender_id": "b"} for e in legal_threat_conversation()[:6]]
    done = []
    for a, b in zip(first, second, strict=True):
        done += builder.add(a) + builder.add(b)
    # utter_greet of each conversation is still open: its events may still come.
    assert sorted((d["conversation_id"], d["action"]) for d in done) == [
        ("a", "action_session_start"),
        ("b", "action_session_start"),
    ]
    flushed = builder.flush()
    assert sorted((d["conversation_id"], d["action"]) for d in flushed) == [
        ("a", "utter_greet"),
        ("b", "utter_greet"),
    ]


def test_idle_flush_completes_only_quiet_conversations():
    builder = DecisionBuilder({}, {})
    builder.add({**legal_threat_conversation()[4], "sender_id": "old"}, now=10.0)
    builder.add({**legal_threat_conversation()[4], "sender_id": "new"}, now=20.0)
    assert [d["conversation_id"] for d in builder.flush(idle_before=15.0)] == ["old"]


def test_the_oldest_conversations_are_forgotten_beyond_the_limit():
    builder = DecisionBuilder({}, {}, max_conversations=2)
    done = []
    for sender in ("a", "b", "c"):
        done += builder.add({**legal_threat_conversation()[4], "sender_id": sender})
    assert [d["conversation_id"] for d in done] == ["a"]  # emitted, not lost


def test_thresholds_come_from_the_rasa_config(tmp_path: Path):
    config = tmp_path / "config.yml"
    config.write_text(
        "pipeline:\n  - name: FallbackClassifier\n    threshold: 0.55\n"
        "    ambiguity_threshold: 0.05\n"
        "policies:\n  - name: RulePolicy\n    core_fallback_threshold: 0.25\n"
    )
    assert rasa_thresholds(config) == {
        "nlu_fallback_threshold": 0.55,
        "ambiguity_threshold": 0.05,
        "core_fallback_threshold": 0.25,
    }
    assert rasa_thresholds(tmp_path / "missing.yml")["nlu_fallback_threshold"] == 0.3


def test_personal_entities_in_the_text_are_masked_as_the_policy_says():
    from frontline.policy import policies

    text = "my zip is 94107 and I'm Jane Doe"
    message = user(text, "inform", 0.9, ("greet", 0.01), 1.0)
    message["parse_data"]["entities"] = [
        {"entity": "zip_code", "value": "94107", "start": 10, "end": 15},
        {"entity": "name", "value": "Jane Doe", "start": 24, "end": 32},
    ]
    builder = DecisionBuilder({}, {}, data_handling=policies().data_handling)
    builder.add({**message, "sender_id": "c"})
    builder.add({**action("utter_ok", "RulePolicy", 1.0, 1.1), "sender_id": "c"})
    [decision] = builder.flush()
    assert decision["text"] == "my zip is 941** and I'm Jane D."

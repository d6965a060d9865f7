"""Rasa tracker events as the event broker receives them, for the audit tests."""

from __future__ import annotations

from typing import Any

MODEL_ID = "model-1234"


def user(
    text: str, intent: str, confidence: float, runner_up: tuple[str, float], at: float
) -> dict:
    return {
        "event": "user",
        "timestamp": at,
        "text": text,
        "input_channel": "rest",
        "message_id": f"m{at}",
        "parse_data": {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [
                {"name": intent, "confidence": confidence},
                {"name": runner_up[0], "confidence": runner_up[1]},
            ],
            "entities": [],
        },
        "metadata": {"model_id": MODEL_ID},
    }


def action(name: str, policy: str | None, confidence: float | None, at: float, **metadata) -> dict:
    return {
        "event": "action",
        "timestamp": at,
        "name": name,
        "policy": policy,
        "confidence": confidence,
        "metadata": {"model_id": MODEL_ID, **metadata},
    }


def slot(name: str, value: Any, at: float) -> dict:
    return {"event": "slot", "timestamp": at, "name": name, "value": value}


def bot(text: str, at: float, **metadata) -> dict:
    return {"event": "bot", "timestamp": at, "text": text, "metadata": metadata}


RULE = {
    "id": "sensitive.legal_threat",
    "rationale": "The customer mentioned legal action.",
    "policy": "escalation",
    "version": "1.1.0",
}


def legal_threat_conversation() -> list[dict]:
    """Greeting, then a legal threat the escalation policy hands off."""
    return [
        action("action_session_start", None, None, 1.0),
        {"event": "session_started", "timestamp": 1.1},
        action("action_listen", None, None, 1.2),
        user("hi", "greet", 0.99, ("thank", 0.004), 2.0),
        action("utter_greet", "RulePolicy", 1.0, 2.1),
        bot("Hi, I'm Frontline", 2.2, utter_action="utter_greet"),
        action("action_listen", "RulePolicy", 1.0, 2.3),
        user("I'm going to sue you", "out_of_scope", 0.81, ("cancel_order", 0.09), 3.0),
        slot("handoff_reason", "policy", 3.1),
        slot("escalation_rule", RULE, 3.1),
        action(
            "action_handoff",
            "EscalationDialoguePolicy",
            1.0,
            3.2,
            frontline_escalation={"kind": "sensitive_topic", "rule": RULE},
        ),
        bot(
            "I've passed your conversation to a human colleague", 3.3, utter_action="utter_handoff"
        ),
        slot("handoff_reason", None, 3.4),
        slot("escalation_rule", None, 3.4),
        slot(
            "action_log",
            [{"action": "handoff", "result": "queued", "detail": "policy, high", "at": "t1"}],
            3.4,
        ),
        {"event": "pause", "timestamp": 3.5},
    ]


def refused_cancellation() -> list[dict]:
    """A cancellation the guardrail refuses: the refused write follows up with the handoff."""
    log = [{"action": "cancel_order", "result": "needs_human", "detail": "482914", "at": "t2",
            "rule_id": "escalation.writes.cancel_order.money_limit"}]  # fmt: skip
    rule = RULE | {"id": "escalation.writes.cancel_order.money_limit", "rationale": "Too much."}
    return [
        user("yes", "affirm", 1.0, ("deny", 0.0), 5.0),
        action("cancel_order_form", "RulePolicy", 1.0, 5.1),
        slot("cancel_confirmed", True, 5.1),
        action("action_cancel_order", "RulePolicy", 1.0, 5.2),
        slot("cancel_confirmed", None, 5.3),
        slot("action_log", log, 5.3),
        slot("handoff_reason", "policy", 5.3),
        slot("escalation_rule", rule, 5.3),
        {"event": "followup", "timestamp": 5.3, "name": "action_handoff"},
        action("action_handoff", None, 1.0, 5.4),
        slot("action_log", log + [{"action": "handoff", "result": "queued", "at": "t3"}], 5.5),
        {"event": "pause", "timestamp": 5.6},
    ]

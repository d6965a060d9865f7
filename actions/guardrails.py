"""What an action does with the guardrail's verdict on a write (services/guardrails.py)."""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import EventType, FollowupAction, SlotSet

from frontline.services.guardrails import WriteCheck


def refusal_events(check: WriteCheck) -> list[EventType]:
    """A refused write goes to a person, with the rule that refused it.

    ``handoff_reason`` ``policy`` and ``escalation_rule`` (id, rationale, policy version),
    then ``action_handoff``, which puts both in the packet.
    """
    return [SlotSet(name, value) for name, value in check.refusal_slots().items()] + [
        FollowupAction("action_handoff")
    ]


def write_log_fields(check: WriteCheck | None, idempotency_key: str) -> dict[str, Any]:
    """The ``action_log`` fields of a write: its idempotency key if it was sent, the rule
    if one refused it (the audit trail records both)."""
    if check is None:
        return {}
    if check.allowed:
        return {"idempotency_key": idempotency_key}
    rule = check.decision.escalation_rule()
    return {"rule_id": rule.rule_id} if rule else {}

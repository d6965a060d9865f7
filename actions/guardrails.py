"""What an action does with the guardrail's verdict on a write (services/guardrails.py)."""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import EventType, FollowupAction, SlotSet

from frontline.services.guardrails import WriteCheck
from frontline.vocabulary import Slot
from frontline.writes import WriteResult, WriteStatus


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


def write_handoff_events(write: WriteResult | None, note: str | None = None) -> list[EventType]:
    """Events that hand the conversation to a person after a write, if it needs one.

    A refused write (policy, flag or kill switch), an unknown outcome and a backend
    error each hand off with their reason code (and rule); ``note`` is the one-sentence
    rationale the agent reads for an unknown outcome. Empty when no person is needed.
    """
    if write is None:
        return []
    slots = write.handoff_slots()
    if not slots:
        return []
    if write.status is WriteStatus.OUTCOME_UNKNOWN and note:
        slots[Slot.HANDOFF_NOTE] = note
    return [SlotSet(name, value) for name, value in slots.items()] + [
        FollowupAction("action_handoff")
    ]

"""Conversations in which the customer said yes to a change (the consent policy reads them)."""

from __future__ import annotations

from typing import Any

from frontline.services.guardrails import WriteContext


def consent_events(
    question: str, *, slots: dict[str, Any] | None = None, **variables: Any
) -> list[dict[str, Any]]:
    """The assistant asks ``question`` (a response name, with its variables) and the customer
    answers yes; ``slots`` are set before the question, as the flow would have set them."""
    events: list[dict[str, Any]] = [
        {"event": "slot", "name": name, "value": value} for name, value in (slots or {}).items()
    ]
    events.append(
        {
            "event": "bot",
            "text": "Please confirm",
            "metadata": {"utter_action": question, **variables},
        }
    )
    events.append(
        {
            "event": "user",
            "text": "yes",
            "parse_data": {"intent": {"name": "affirm", "confidence": 1.0}},
        }
    )
    return events


def consented(
    conversation_id: str,
    question: str,
    *,
    slots: dict[str, Any] | None = None,
    channel: str = "rest",
    **variables: Any,
) -> WriteContext:
    """A verified customer's conversation that ends with a yes to ``question``."""
    return WriteContext(
        conversation_id,
        channel,
        verified=True,
        events=consent_events(question, slots=slots, **variables),
    )

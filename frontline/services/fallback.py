"""Two-stage fallback: ask to rephrase, then offer a human, then hand off.

Counts consecutive customer turns the assistant did not understand, whatever else
happened in them (a form re-asking its question does not reset the count).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import Any

from frontline.policy import EscalationPolicy

FALLBACK_ACTION = "action_fallback"
NLU_FALLBACK_INTENT = "nlu_fallback"
REQUESTED_SLOT = "requested_slot"


class FallbackStep(str, enum.Enum):
    REPHRASE = "rephrase"
    OFFER_HUMAN = "offer_human"
    HAND_OFF = "hand_off"


def is_dialogue_fallback(latest_message: dict[str, Any], events: Sequence[dict[str, Any]]) -> bool:
    """Whether the fallback answers a message the dialogue, not NLU, could not place.

    That is the case when the message's intent was understood, or when the fallback has
    already run for this message (nothing else was predicted after it).

    Args:
        latest_message: the tracker's latest user message (its parse data).
        events: the tracker's events; the current fallback has not run yet.
    """
    intent = ((latest_message or {}).get("intent") or {}).get("name")
    if intent != NLU_FALLBACK_INTENT:
        return True
    for event in reversed(events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") == FALLBACK_ACTION:
            return True
    return False


def consecutive_fallbacks(events: Iterable[dict[str, Any]]) -> int:
    """Number of trailing customer turns answered by the fallback, the current one included.

    A turn in which the fallback let an active form take the message and the form
    filled the slot it had asked for ("59.90" when asked for an amount) was understood.

    Args:
        events: the tracker's events; the current turn's fallback has not run yet.
    """
    turns: list[bool] = []
    requested: Any = None  # the form's requested slot as the events go
    asked: Any = None  # the slot requested when this turn's fallback ran
    for event in events:
        kind = event.get("event")
        if kind == "user":
            turns.append(False)
            asked = None
        elif kind == "action" and event.get("name") == FALLBACK_ACTION and turns:
            turns[-1] = True
            asked = requested
        elif kind == "slot" and event.get("name") == REQUESTED_SLOT:
            requested = event.get("value")
        elif kind == "slot" and asked and event.get("name") == asked and turns:
            turns[-1] = event.get("value") is None  # the form took the message
        elif kind in ("restart", "session_started"):
            requested = None
    if turns:
        turns[-1] = True  # the turn being answered now is a fallback turn
    count = 0
    for was_fallback in reversed(turns):
        if not was_fallback:
            break
        count += 1
    return count


def next_fallback_step(events: Iterable[dict[str, Any]], policy: EscalationPolicy) -> FallbackStep:
    """What to do about a message the assistant did not understand."""
    count = consecutive_fallbacks(events)
    if count >= policy.fallback_handoff_after:
        return FallbackStep.HAND_OFF
    if count >= policy.fallback_offer_human_after:
        return FallbackStep.OFFER_HUMAN
    return FallbackStep.REPHRASE

"""The "Did you mean …?" offer for a message the NLU found unclear.

The NLU (``frontline/nlu/clarifier.py``) names the business intents to offer; this module
turns them into buttons: each option's label from ``policies/clarification.yml`` and a
payload that starts that flow with the entities of the customer's original message
(``/cancel_order{"order_id": "482914"}``: the order number they typed is kept), then
"Something else", which is the not-understood path (rephrase, then a person).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from frontline.nlu.clarification_policy import FALLBACK_INTENT, ClarificationPolicy

CLARIFICATION_KEY = "clarification"
CLARIFY_RESPONSE = "utter_clarify"


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class ClarificationOffer:
    """What to ask: the options (intents, best first) and the buttons, "Something else" last."""

    options: tuple[str, ...]
    buttons: tuple[Button, ...]


def entity_values(entities: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``{entity: value}`` of a parse's entities; an entity found twice keeps both values."""
    values: dict[str, list[Any]] = {}
    for entity in entities:
        name, value = entity.get("entity"), entity.get("value")
        if not name or value is None or value in values.get(name, []):
            continue
        values.setdefault(str(name), []).append(value)
    return {name: found[0] if len(found) == 1 else found for name, found in values.items()}


def intent_payload(intent: str, entities: Mapping[str, Any]) -> str:
    """``/intent{"entity": "value"}``: what Rasa reads as that intent with those entities."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(dict(entities), ensure_ascii=False, sort_keys=True)}"


def clarification_offer(
    parse_data: Mapping[str, Any], policy: ClarificationPolicy
) -> ClarificationOffer | None:
    """The offer for an unclear message's parse, or None when it names no offerable intent.

    Args:
        parse_data: the message as parsed by the NLU (the tracker's latest message).
        policy: the clarification policy (labels, what may be offered).
    """
    named = (parse_data.get(CLARIFICATION_KEY) or {}).get("options") or []
    options = []
    for option in named:
        intent = option.get("intent") if isinstance(option, Mapping) else None
        if intent in policy.offerable and intent not in options:
            options.append(intent)
    options = options[: policy.max_options]
    if not options:
        return None
    entities = entity_values(parse_data.get("entities") or [])
    buttons = [Button(policy.labels[o], intent_payload(o, entities)) for o in options]
    buttons.append(Button(policy.something_else_label, f"/{FALLBACK_INTENT}"))
    return ClarificationOffer(options=tuple(options), buttons=tuple(buttons))

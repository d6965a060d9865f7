"""The parts of a packet, one function each: who the customer is, what was said and tried.

Each takes what the tracker or the CRM gave, keeps what the agent needs, bounds its
size and masks personal data (with the packet's :class:`~.scrubbing.Scrubber`), so
the result always passes the schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from frontline.handoff.packet.scrubbing import (
    MAX_TEXT_LENGTH,
    Scrubber,
    mask_entity_value,
    mask_spans,
)
from frontline.handoff.packet.values import (
    WHITESPACE_RE,
    clamp_confidence,
    clean,
    iso,
    parse_timestamp,
)
from frontline.masking import mask_value
from frontline.patterns import normalize_email

MAX_ACTIONS = 20
MAX_ENTITIES = 50
MAX_TURN_TEXT_LENGTH = 2000
MAX_RECENT_CONTACTS = 10
MAX_DECISIONS = 20

#: Slots worth showing the agent. None of them holds personal data (``email`` and
#: ``verification_secret`` deliberately are not here).
AGENT_SLOTS = (
    "order_id",
    "verification_attempts",
    "cancel_confirmed",
    "handoff_reason",
    "requested_slot",
)

# Events after which earlier ones no longer belong to the conversation being handed off.
RESET_EVENTS = frozenset({"restart", "session_started"})


def current_session(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The events since the last restart or session start."""
    start = 0
    for index, event in enumerate(events):
        if event.get("event") in RESET_EVENTS:
            start = index + 1
    return list(events[start:])


def channel(conversation: Mapping[str, Any], latest_user: Mapping[str, Any] | None) -> str:
    channel = conversation.get("latest_input_channel") or (latest_user or {}).get("input_channel")
    return str(channel)[:64] if channel else "unknown"


def customer(customer: Mapping[str, Any] | None) -> dict[str, Any]:
    if customer is None:
        return {
            "verified": False,
            **dict.fromkeys(("customer_id", "name", "email", "phone", "tier")),
        }
    # What each field looks like in a packet is the data-handling policy's (`packets`).
    name = clean(customer.get("name"))
    masked_name = mask_value("packets", "name", WHITESPACE_RE.sub(" ", name)) if name else None
    email = clean(customer.get("email"))
    phone = clean(customer.get("phone"))
    customer_id = customer.get("id")
    tier = clean(customer.get("tier"))
    return {
        "verified": True,
        "customer_id": str(customer_id)[:64] if customer_id not in (None, "") else None,
        "name": masked_name[:100] if masked_name else None,
        "email": mask_value("packets", "email", email)
        if email and normalize_email(email)
        else None,
        "phone": mask_value("packets", "phone", phone) if phone else None,
        "tier": tier[:32] if tier else None,
    }


def recent_contacts(
    contacts: Iterable[Any], conversation_id: str
) -> list[dict[str, str | bool | None]]:
    """The CRM's contacts, normalised; entries without a channel, id or time are dropped."""
    result: list[dict[str, str | bool | None]] = []
    for contact in contacts:
        if not isinstance(contact, Mapping):
            continue
        channel = clean(contact.get("channel"))
        contact_conversation = clean(contact.get("conversation_id"))
        started = parse_timestamp(contact.get("started_at"))
        if not (channel and contact_conversation and started):
            continue
        topic = clean(contact.get("topic"))
        result.append(
            {
                "channel": channel[:64],
                "conversation_id": contact_conversation[:255],
                "topic": topic[:100] if topic else None,
                "started_at": iso(started),
                "current": contact_conversation == conversation_id,
            }
        )
    return result[:MAX_RECENT_CONTACTS]


def intent(latest_message: Mapping[str, Any]) -> dict[str, Any] | None:
    intent = latest_message.get("intent") or {}
    name = intent.get("name") if isinstance(intent, Mapping) else None
    if not name:
        return None
    # An unknown confidence shows as 0.
    return {"name": str(name), "confidence": clamp_confidence(intent.get("confidence")) or 0.0}


def entities(entities: Iterable[Any], scrub: Scrubber) -> list[dict[str, str]]:
    result: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for entity in entities:
        if not isinstance(entity, Mapping) or not entity.get("entity"):
            continue
        name = str(entity["entity"])
        value = scrub(mask_entity_value(name, entity.get("value")))
        if (name, value) not in seen:
            seen.add((name, value))
            result.append({"entity": name, "value": value})
    return result[:MAX_ENTITIES]


def turns(events: Iterable[Mapping[str, Any]], scrub: Scrubber) -> list[dict[str, str]]:
    turns = []
    for event in events:
        kind = event.get("event")
        text = event.get("text")
        if kind not in ("user", "bot") or not isinstance(text, str) or not text.strip():
            continue
        if kind == "user":
            text = mask_spans(text, (event.get("parse_data") or {}).get("entities") or [])
        timestamp = parse_timestamp(event.get("timestamp"))
        turns.append(
            {
                "speaker": "customer" if kind == "user" else "assistant",
                "text": scrub(text)[:MAX_TURN_TEXT_LENGTH],
                "timestamp": iso(timestamp or datetime.fromtimestamp(0, timezone.utc)),
            }
        )
    return turns


def actions(action_log: Any, scrub: Scrubber) -> list[dict[str, Any]]:
    """The ``action_log`` slot, normalised; entries without an action name are dropped."""
    if not isinstance(action_log, list):
        return []
    actions = []
    for item in action_log:
        if not isinstance(item, Mapping) or not clean(item.get("action")):
            continue
        detail = clean(item.get("detail"))
        at = parse_timestamp(item.get("at"))
        action: dict[str, Any] = {
            "action": str(item["action"]).strip()[:100],
            "result": (clean(item.get("result")) or "unknown")[:64],
            "detail": scrub(detail)[:MAX_TEXT_LENGTH] if detail else None,
            "at": iso(at) if at else None,
        }
        for key in ("idempotency_key", "rule_id"):
            value = clean(item.get(key))
            if value:
                action[key] = value[:100]
        actions.append(action)
    return actions[-MAX_ACTIONS:]


def reason(code: str, rationale: str, rule: Mapping[str, Any] | None) -> dict[str, Any]:
    reason: dict[str, Any] = {"code": code, "rationale": rationale}
    rule_id = clean((rule or {}).get("id"))
    if rule_id:
        reason["rule"] = {
            "id": rule_id[:100],
            "policy": (clean((rule or {}).get("policy")) or "")[:64] or None,
            "version": (clean((rule or {}).get("version")) or "")[:32] or None,
        }
    return reason


def _decision_intent(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping) or not clean(value.get("name")):
        return None
    return {
        "name": str(value["name"])[:100],
        "confidence": clamp_confidence(value.get("confidence")),
    }


def decisions(decisions: Iterable[Any], scrub: Scrubber) -> list[dict[str, Any]]:
    """The latest decision records, compact: what was chosen, by whom, on what evidence."""
    result = []
    for decision in decisions:
        if not isinstance(decision, Mapping) or not clean(decision.get("action")):
            continue
        at = parse_timestamp(decision.get("at"))
        rules = [
            str(rule["id"])[:100]
            for rule in decision.get("rules") or []
            if isinstance(rule, Mapping) and clean(rule.get("id"))
        ]
        calls = [
            {
                "action": (clean(call.get("action")) or "unknown")[:100],
                "result": (clean(call.get("result")) or "unknown")[:64],
                "idempotency_key": (clean(call.get("idempotency_key")) or "")[:100] or None,
            }
            for call in decision.get("backend_calls") or []
            if isinstance(call, Mapping)
        ]
        result.append(
            {
                "at": iso(at) if at else None,
                "action": str(decision["action"])[:100],
                "policy": (clean(decision.get("policy")) or "")[:100] or None,
                "confidence": clamp_confidence(decision.get("confidence")),
                "intent": _decision_intent(decision.get("intent")),
                "runner_up": _decision_intent(decision.get("runner_up")),
                "rules": rules[:10],
                "backend_calls": calls[:10],
                "rationale": scrub(clean(decision.get("rationale")) or "")[:MAX_TEXT_LENGTH],
            }
        )
    return result[-MAX_DECISIONS:]


def agent_slots(slots: Mapping[str, Any], scrub: Scrubber) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name in AGENT_SLOTS:
        value = slots.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            result[name] = scrub(value)[:200]
        elif isinstance(value, (bool, int, float)):
            result[name] = value
    return result

"""The context packet a human agent receives when the assistant hands off.

The packet's shape is the versioned JSON Schema ``schemas/handoff_packet.v1.1.json``
(1.1 adds ``recent_contacts``, ``decisions``, ``reason.rule`` and the idempotency key
and rule id of ``actions_attempted`` to 1.0, all optional; a packet is validated against
the schema of its own ``schema_version``, so 1.0 packets still in a queue stay readable).
:func:`build_packet` turns a tracker state (what rasa-sdk's ``Tracker.current_state()``
returns) into a packet that saves the agent from reading the whole transcript: who
the customer is (masked), what they wanted, what the bot tried, and why it gave up.

Nothing personal leaves this module unmasked: names, e-mail addresses and phone
numbers go through :mod:`frontline.masking`, free text through
:func:`~frontline.masking.mask_text` plus the entity spans the NLU found and the
customer's own known details, and the schema rejects unmasked e-mails and phones.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from frontline.errors import ConfigurationError, PacketInvalid
from frontline.masking import (
    mask_email,
    mask_name,
    mask_phone,
    mask_text,
    mask_value,
    mask_zip_code,
)
from frontline.patterns import normalize_email, normalize_order_id, normalize_zip_code
from frontline.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "1.1"
#: The schema of every packet version; packets are built in :data:`SCHEMA_VERSION`.
SCHEMA_PATHS: dict[str, Path] = {
    "1.0": PROJECT_ROOT / "schemas" / "handoff_packet.v1.json",
    "1.1": PROJECT_ROOT / "schemas" / "handoff_packet.v1.1.json",
}
SCHEMA_PATH: Path = SCHEMA_PATHS[SCHEMA_VERSION]

PRIORITIES = ("low", "normal", "high", "urgent")
REASON_CODES = (
    "customer_request",
    "verification_failed",
    "repeated_fallback",
    "backend_error",
    "out_of_scope",
    "policy",
)

DEFAULT_MAX_TURNS = 10
SUMMARY_MAX_LENGTH = 400
HANDOFF_ID_LENGTH = 24
MAX_ACTIONS = 20
MAX_ENTITIES = 50
MAX_TEXT_LENGTH = 500
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

#: Intents that carry no request of their own; left out of "what the customer wanted".
CONVERSATIONAL_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "bot_challenge",
        "affirm",
        "deny",
        "stop",
        "inform",
        "nlu_fallback",
        "csat_feedback",
        "faq",
        "chitchat",
        "insult",
    }
)

_INTENT_PHRASES = {
    "check_order_status": "check an order's status",
    "cancel_order": "cancel an order",
    "request_human": "talk to a person",
    "out_of_scope": "get help with something the assistant does not handle",
    "request_return": "return an order for a refund",
    "list_invoices": "see their invoices",
    "explain_charge": "understand a charge",
    "report_double_charge": "report a charge made twice",
    "reset_password": "reset their password",
    "change_shipping_address": "change their shipping address",
    "change_email": "change their e-mail address",
    "change_phone": "change their phone number",
}

_REASON_LABELS = {
    "customer_request": "customer asked for a person",
    "verification_failed": "identity verification failed",
    "repeated_fallback": "assistant repeatedly did not understand",
    "backend_error": "a backend system failed",
    "out_of_scope": "request out of scope",
    "policy": "policy requires a person",
}

# Events after which earlier ones no longer belong to the conversation being handed off.
_RESET_EVENTS = frozenset({"restart", "session_started"})

_ORDER_IN_TEXT_RE = re.compile(r"(?<![\d#*$])#?([1-9]\d{5})(?!\d)")
_WHITESPACE_RE = re.compile(r"\s+")

_ENTITY_MASKERS: dict[str, Callable[[str], str | None]] = {
    "email": lambda value: mask_email(value) if normalize_email(value) else mask_text(value),
    "phone": mask_phone,
    "phone_number": mask_phone,
    "zip_code": mask_zip_code,
    "name": mask_name,
    "person": mask_name,
    "first_name": mask_name,
    "last_name": lambda value: f"{value.strip()[:1]}." if value.strip() else value,
}


# -- schema ----------------------------------------------------------------------


@lru_cache(maxsize=len(SCHEMA_PATHS))
def _validator(version: str = SCHEMA_VERSION) -> jsonschema.protocols.Validator:
    """Loads and checks the schema of one packet version, once per process."""
    path = SCHEMA_PATHS[version]
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load handoff packet schema {path}") from exc
    except jsonschema.SchemaError as exc:
        raise ConfigurationError(f"handoff packet schema {path} is invalid") from exc
    return validator_class(schema, format_checker=jsonschema.FormatChecker())


def load_schema(version: str = SCHEMA_VERSION) -> dict[str, Any]:
    """Returns the JSON Schema of a packet version (a copy; the loaded one is cached).

    Raises:
        ConfigurationError: The schema file is missing or is not a valid schema.
        KeyError: There is no such packet version.
    """
    return json.loads(json.dumps(_validator(version).schema))


def validate_packet(packet: Mapping[str, Any]) -> None:
    """Checks a packet against the schema of its ``schema_version``.

    The error message names the failing location and rule but never echoes the
    offending value, which might be personal data that escaped masking.

    Raises:
        PacketInvalid: The packet does not match the schema.
        ConfigurationError: The schema itself cannot be loaded.
    """
    version = packet.get("schema_version") if isinstance(packet, Mapping) else None
    if version not in SCHEMA_PATHS:
        known = ", ".join(SCHEMA_PATHS)
        raise PacketInvalid(f"handoff packet has no known schema_version (one of {known})")
    error = best_match(_validator(str(version)).iter_errors(packet))
    if error is not None:
        raise PacketInvalid(_describe(error, str(version))) from error


def _describe(error: ValidationError, version: str) -> str:
    location = "/" + "/".join(str(part) for part in error.absolute_path)
    rule = error.validator
    if rule == "required" and isinstance(error.instance, Mapping):
        missing = [key for key in error.validator_value if key not in error.instance]
        detail = f"missing {', '.join(missing)}"
    elif rule == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = set((error.schema or {}).get("properties", {}))
        extra = sorted(str(key) for key in error.instance if key not in allowed)
        detail = f"unexpected {', '.join(extra)}"
    else:
        detail = f"{rule} {json.dumps(error.validator_value, default=str)[:200]}"
    return f"handoff packet v{version} is invalid at {location}: {detail}"


# -- building --------------------------------------------------------------------


def compute_handoff_id(conversation_id: str, latest_user_timestamp: float | None) -> str:
    """The handoff id: stable for one conversation until the customer writes again.

    Returns:
        The first 24 hex digits of sha256 over the conversation id and the timestamp
        of the latest user message, so a retried handoff action gets the same id.
    """
    stamp = "none" if latest_user_timestamp is None else f"{float(latest_user_timestamp):.6f}"
    digest = hashlib.sha256(f"{conversation_id}|{stamp}".encode()).hexdigest()
    return digest[:HANDOFF_ID_LENGTH]


def build_packet(
    conversation: Mapping[str, Any],
    *,
    reason_code: str,
    rationale: str,
    priority: str,
    customer: Mapping[str, Any] | None,
    now: datetime | None = None,
    max_turns: int = DEFAULT_MAX_TURNS,
    recent_contacts: Sequence[Mapping[str, Any]] = (),
    rule: Mapping[str, Any] | None = None,
    decisions: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Builds and validates the context packet for handing a conversation off.

    Args:
        conversation: The tracker state, as ``Tracker.current_state()`` returns it.
        reason_code: Why the conversation is handed off (one of :data:`REASON_CODES`).
        rationale: One sentence explaining the reason to the agent.
        priority: One of :data:`PRIORITIES`.
        customer: The verified customer's CRM record (``id``, ``name``, ``email``,
            ``phone``, ``tier``, ...), or None when the customer is not verified.
        now: The packet's creation time (default: the current time; naive means UTC).
        max_turns: How many of the latest turns to include.
        recent_contacts: The verified customer's contacts as the CRM lists them
            (``channel``, ``conversation_id``, ``topic``, ``started_at``), newest first;
            ignored when the customer is not verified.
        rule: The policy rule that sent the conversation to a person (``id``,
            ``policy``, ``version``), as the ``escalation_rule`` slot holds it.
        decisions: The conversation's decision records
            (:func:`frontline.audit.decisions.decisions_from_events`), oldest first;
            the latest :data:`MAX_DECISIONS` go into the packet.

    Returns:
        A JSON-able dict matching ``schemas/handoff_packet.v1.1.json``.

    Raises:
        PacketInvalid: The result does not match the schema (e.g. an unknown reason
            code or priority, or no conversation id).
        ValueError: ``max_turns`` is negative.
    """
    if max_turns < 0:
        raise ValueError(f"max_turns must not be negative, not {max_turns}")
    conversation_id = str(conversation.get("sender_id") or "")
    all_events = [event for event in conversation.get("events") or [] if isinstance(event, Mapping)]
    events = _current_session(all_events)
    user_events = [event for event in all_events if event.get("event") == "user"]
    latest_user = user_events[-1] if user_events else None
    slots = conversation.get("slots") or {}
    latest_message = conversation.get("latest_message") or {}

    scrub = _Scrubber(customer, slots)
    turns = _turns(events, scrub)
    actions = _actions(slots.get("action_log"), scrub)
    rationale_text = scrub(_WHITESPACE_RE.sub(" ", str(rationale)).strip())
    created = _as_utc(now or datetime.now(timezone.utc))

    packet: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "handoff_id": compute_handoff_id(conversation_id, _numeric(latest_user, "timestamp")),
        "conversation_id": conversation_id,
        "channel": _channel(conversation, latest_user),
        "created_at": _iso(created),
        "priority": priority,
        "reason": _reason(reason_code, rationale_text, rule),
        "customer": _customer(customer),
        "intent": _intent(latest_message),
        "entities": _entities(latest_message.get("entities") or [], scrub),
        "summary": _summary(
            wants=_wants(events),
            orders=_orders(events, slots, scrub),
            customer=customer,
            verification_attempts=slots.get("verification_attempts"),
            actions=actions,
            reason_code=reason_code,
            rationale=rationale_text,
        ),
        "last_turns": turns[-max_turns:] if max_turns else [],
        "actions_attempted": actions,
        "recent_contacts": (
            _recent_contacts(recent_contacts, conversation_id) if customer is not None else []
        ),
    }
    packet["decisions"] = _decisions(decisions, scrub)
    agent_slots = _agent_slots(slots, scrub)
    if agent_slots:
        packet["slots"] = agent_slots
    validate_packet(packet)
    logger.debug(
        "Built handoff packet %s for conversation %s", packet["handoff_id"], conversation_id
    )
    return packet


# -- masking ---------------------------------------------------------------------


class _Scrubber:
    """Masks free text: known details of this customer first, then generic patterns."""

    def __init__(self, customer: Mapping[str, Any] | None, slots: Mapping[str, Any]) -> None:
        known: dict[str, str] = {}
        customer = customer or {}
        name = _clean(customer.get("name"))
        if name and " " in name:
            known[name] = mask_name(name) or ""
        for value in (customer.get("email"), slots.get("email")):
            email = _clean(value)
            if email and normalize_email(email):
                known[email] = mask_email(email) or ""
        phone = _clean(customer.get("phone"))
        if phone:
            known[phone] = mask_phone(phone) or ""
        for value in (
            customer.get("zip_code"),
            customer.get("postal_code"),
            slots.get("verification_secret"),
        ):
            zip_code = normalize_zip_code(value)
            if zip_code:
                known[zip_code] = mask_zip_code(zip_code) or ""
        # Longest first, so "Jane Doe" is replaced before a shorter overlapping value.
        self._replacements = [
            (re.compile(rf"(?<![\w@.]){re.escape(raw)}(?![\w@])", re.IGNORECASE), masked)
            for raw, masked in sorted(known.items(), key=lambda item: len(item[0]), reverse=True)
        ]

    def __call__(self, text: str | None) -> str:
        if not text:
            return ""
        for pattern, masked in self._replacements:
            text = pattern.sub(_constant(masked), text)
        return mask_text(text) or ""


def _constant(value: str) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` replacement inserting ``value`` literally (no backslash escapes)."""
    return lambda _match: value


def _mask_spans(text: str, entities: Iterable[Any]) -> str:
    """Replaces the spans of personal entities the NLU found with masked values."""
    spans: list[tuple[int, int, Callable[[str], str | None]]] = []
    for entity in entities:
        if not isinstance(entity, Mapping):
            continue
        masker = _ENTITY_MASKERS.get(str(entity.get("entity", "")).lower())
        start, end = entity.get("start"), entity.get("end")
        if masker and isinstance(start, int) and isinstance(end, int) and 0 <= start < end:
            spans.append((start, end, masker))
    kept: list[tuple[int, int, Callable[[str], str | None]]] = []
    for span in sorted(spans, key=lambda span: (span[0], -span[1])):
        # Several extractors may report overlapping spans: the first, widest one wins.
        if span[1] <= len(text) and (not kept or span[0] >= kept[-1][1]):
            kept.append(span)
    for start, end, masker in reversed(kept):
        text = text[:start] + (masker(text[start:end]) or "") + text[end:]
    return text


def _mask_entity_value(entity: str, value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    masker = _ENTITY_MASKERS.get(entity.lower())
    masked = masker(text) if masker else text
    return (mask_text(masked) or "")[:MAX_TEXT_LENGTH]


# -- packet parts ----------------------------------------------------------------


def _current_session(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The events since the last restart or session start."""
    start = 0
    for index, event in enumerate(events):
        if event.get("event") in _RESET_EVENTS:
            start = index + 1
    return list(events[start:])


def _channel(conversation: Mapping[str, Any], latest_user: Mapping[str, Any] | None) -> str:
    channel = conversation.get("latest_input_channel") or (latest_user or {}).get("input_channel")
    return str(channel)[:64] if channel else "unknown"


def _customer(customer: Mapping[str, Any] | None) -> dict[str, Any]:
    if customer is None:
        return {
            "verified": False,
            "customer_id": None,
            "name": None,
            "email": None,
            "phone": None,
            "tier": None,
        }
    # What each field looks like in a packet is the data-handling policy's (`packets`).
    name = _clean(customer.get("name"))
    masked_name = mask_value("packets", "name", _WHITESPACE_RE.sub(" ", name)) if name else None
    email = _clean(customer.get("email"))
    phone = _clean(customer.get("phone"))
    customer_id = customer.get("id")
    tier = _clean(customer.get("tier"))
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


def _recent_contacts(
    contacts: Iterable[Any], conversation_id: str
) -> list[dict[str, str | bool | None]]:
    """The CRM's contacts, normalised; entries without a channel, id or time are dropped."""
    result: list[dict[str, str | bool | None]] = []
    for contact in contacts:
        if not isinstance(contact, Mapping):
            continue
        channel = _clean(contact.get("channel"))
        contact_conversation = _clean(contact.get("conversation_id"))
        started = _timestamp(contact.get("started_at"))
        if not (channel and contact_conversation and started):
            continue
        topic = _clean(contact.get("topic"))
        result.append(
            {
                "channel": channel[:64],
                "conversation_id": contact_conversation[:255],
                "topic": topic[:100] if topic else None,
                "started_at": _iso(started),
                "current": contact_conversation == conversation_id,
            }
        )
    return result[:MAX_RECENT_CONTACTS]


def _intent(latest_message: Mapping[str, Any]) -> dict[str, Any] | None:
    intent = latest_message.get("intent") or {}
    name = intent.get("name") if isinstance(intent, Mapping) else None
    if not name:
        return None
    confidence = intent.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        confidence = 0.0  # unknown
    return {"name": str(name), "confidence": min(max(float(confidence), 0.0), 1.0)}


def _entities(entities: Iterable[Any], scrub: _Scrubber) -> list[dict[str, str]]:
    result: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for entity in entities:
        if not isinstance(entity, Mapping) or not entity.get("entity"):
            continue
        name = str(entity["entity"])
        value = scrub(_mask_entity_value(name, entity.get("value")))
        if (name, value) not in seen:
            seen.add((name, value))
            result.append({"entity": name, "value": value})
    return result[:MAX_ENTITIES]


def _turns(events: Iterable[Mapping[str, Any]], scrub: _Scrubber) -> list[dict[str, str]]:
    turns = []
    for event in events:
        kind = event.get("event")
        text = event.get("text")
        if kind not in ("user", "bot") or not isinstance(text, str) or not text.strip():
            continue
        if kind == "user":
            text = _mask_spans(text, (event.get("parse_data") or {}).get("entities") or [])
        timestamp = _timestamp(event.get("timestamp"))
        turns.append(
            {
                "speaker": "customer" if kind == "user" else "assistant",
                "text": scrub(text)[:MAX_TURN_TEXT_LENGTH],
                "timestamp": _iso(timestamp or datetime.fromtimestamp(0, timezone.utc)),
            }
        )
    return turns


def _actions(action_log: Any, scrub: _Scrubber) -> list[dict[str, Any]]:
    """The ``action_log`` slot, normalised; entries without an action name are dropped."""
    if not isinstance(action_log, list):
        return []
    actions = []
    for item in action_log:
        if not isinstance(item, Mapping) or not _clean(item.get("action")):
            continue
        detail = _clean(item.get("detail"))
        at = _timestamp(item.get("at"))
        action: dict[str, Any] = {
            "action": str(item["action"]).strip()[:100],
            "result": (_clean(item.get("result")) or "unknown")[:64],
            "detail": scrub(detail)[:MAX_TEXT_LENGTH] if detail else None,
            "at": _iso(at) if at else None,
        }
        for key in ("idempotency_key", "rule_id"):
            value = _clean(item.get(key))
            if value:
                action[key] = value[:100]
        actions.append(action)
    return actions[-MAX_ACTIONS:]


def _reason(code: str, rationale: str, rule: Mapping[str, Any] | None) -> dict[str, Any]:
    reason: dict[str, Any] = {"code": code, "rationale": rationale}
    rule_id = _clean((rule or {}).get("id"))
    if rule_id:
        reason["rule"] = {
            "id": rule_id[:100],
            "policy": (_clean((rule or {}).get("policy")) or "")[:64] or None,
            "version": (_clean((rule or {}).get("version")) or "")[:32] or None,
        }
    return reason


def _decision_intent(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping) or not _clean(value.get("name")):
        return None
    confidence = value.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        confidence = None
    return {
        "name": str(value["name"])[:100],
        "confidence": min(max(float(confidence), 0.0), 1.0) if confidence is not None else None,
    }


def _decisions(decisions: Iterable[Any], scrub: _Scrubber) -> list[dict[str, Any]]:
    """The latest decision records, compact: what was chosen, by whom, on what evidence."""
    result = []
    for decision in decisions:
        if not isinstance(decision, Mapping) or not _clean(decision.get("action")):
            continue
        confidence = decision.get("confidence")
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
            confidence = None
        at = _timestamp(decision.get("at"))
        rules = [
            str(rule["id"])[:100]
            for rule in decision.get("rules") or []
            if isinstance(rule, Mapping) and _clean(rule.get("id"))
        ]
        calls = [
            {
                "action": (_clean(call.get("action")) or "unknown")[:100],
                "result": (_clean(call.get("result")) or "unknown")[:64],
                "idempotency_key": (_clean(call.get("idempotency_key")) or "")[:100] or None,
            }
            for call in decision.get("backend_calls") or []
            if isinstance(call, Mapping)
        ]
        result.append(
            {
                "at": _iso(at) if at else None,
                "action": str(decision["action"])[:100],
                "policy": (_clean(decision.get("policy")) or "")[:100] or None,
                "confidence": min(max(float(confidence), 0.0), 1.0)
                if confidence is not None
                else None,
                "intent": _decision_intent(decision.get("intent")),
                "runner_up": _decision_intent(decision.get("runner_up")),
                "rules": rules[:10],
                "backend_calls": calls[:10],
                "rationale": scrub(_clean(decision.get("rationale")) or "")[:MAX_TEXT_LENGTH],
            }
        )
    return result[-MAX_DECISIONS:]


def _agent_slots(slots: Mapping[str, Any], scrub: _Scrubber) -> dict[str, Any]:
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


def _wants(events: Iterable[Mapping[str, Any]]) -> list[str]:
    wants: list[str] = []
    for event in events:
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if not intent or intent in CONVERSATIONAL_INTENTS:
            continue
        phrase = _INTENT_PHRASES.get(intent, str(intent).replace("_", " "))
        if phrase not in wants:
            wants.append(phrase)
    return wants


def _orders(
    events: Iterable[Mapping[str, Any]], slots: Mapping[str, Any], scrub: _Scrubber
) -> list[str]:
    """Order numbers mentioned, in order of first mention."""
    found: list[str] = []

    def add(value: Any) -> None:
        order_id = normalize_order_id(value)
        if order_id and order_id not in found:
            found.append(order_id)

    for event in events:
        if event.get("event") == "user":
            for entity in (event.get("parse_data") or {}).get("entities") or []:
                if isinstance(entity, Mapping) and entity.get("entity") == "order_id":
                    add(entity.get("value"))
            for match in _ORDER_IN_TEXT_RE.finditer(scrub(event.get("text"))):
                add(match.group(1))
        elif event.get("event") == "slot" and event.get("name") == "order_id":
            add(event.get("value"))
    add(slots.get("order_id"))
    return found


def _summary(
    *,
    wants: Sequence[str],
    orders: Sequence[str],
    customer: Mapping[str, Any] | None,
    verification_attempts: Any,
    actions: Sequence[Mapping[str, Any]],
    reason_code: str,
    rationale: str,
) -> str:
    """A deterministic plain-English summary of at most :data:`SUMMARY_MAX_LENGTH` chars.

    Long lists are shortened first ("and 2 more"); only then is text clipped.
    """
    tried = _tried(actions)
    reason = f"Handed off ({_REASON_LABELS.get(reason_code, reason_code)}): {rationale}".strip()

    def body(cap: int | None) -> str:
        parts = []
        if wants:
            parts.append(f"Customer wanted to {_join(wants, cap, ' then ')}.")
        else:
            parts.append("Customer's request was not understood.")
        if orders:
            label = "Order" if len(orders) == 1 else "Orders"
            parts.append(f"{label} mentioned: {_join([f'#{o}' for o in orders], cap, ', ')}.")
        parts.append(_verification(customer, verification_attempts))
        if tried:
            parts.append(f"Bot tried: {_join(tried, cap, ', ')}.")
        else:
            parts.append("Bot took no actions on the account.")
        return " ".join(parts)

    for cap in (None, 3, 2, 1):
        text = f"{body(cap)} {reason}"
        if len(text) <= SUMMARY_MAX_LENGTH:
            return text
    # Still too long (a very long rationale): keep the reason, clip what precedes it.
    budget = SUMMARY_MAX_LENGTH - len(reason) - 1
    if budget >= 40:
        return f"{_clip(body(1), budget)} {reason}"
    return _clip(f"{body(1)} {reason}", SUMMARY_MAX_LENGTH)


def _verification(customer: Mapping[str, Any] | None, attempts: Any) -> str:
    if customer is not None:
        tier = _clean(customer.get("tier"))
        return f"Identity verified ({tier} tier)." if tier else "Identity verified."
    if isinstance(attempts, (int, float)) and not isinstance(attempts, bool) and attempts > 0:
        count = int(attempts)
        return f"Identity not verified ({count} failed attempt{'s' if count != 1 else ''})."
    return "Identity not verified."


def _tried(actions: Sequence[Mapping[str, Any]]) -> list[str]:
    """``action (result)`` phrases, repeats folded into ``x2``."""
    counts: dict[tuple[str, str], int] = {}
    for action in actions:
        name = str(action["action"])
        name = name[len("action_") :] if name.startswith("action_") else name
        key = (name.replace("_", " "), str(action["result"]))
        counts[key] = counts.get(key, 0) + 1
    return [
        f"{name} ({result}{f' x{count}' if count > 1 else ''})"
        for (name, result), count in counts.items()
    ]


def _join(items: Sequence[str], cap: int | None, separator: str) -> str:
    if cap is None or len(items) <= cap:
        return separator.join(items)
    return f"{separator.join(items[:cap])} and {len(items) - cap} more"


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


# -- small helpers ---------------------------------------------------------------


def _numeric(event: Mapping[str, Any] | None, key: str) -> float | None:
    value = (event or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _clean(value: Any) -> str | None:
    """A stripped non-empty string, or None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _as_utc(moment: datetime) -> datetime:
    return (
        moment.replace(tzinfo=timezone.utc)
        if moment.tzinfo is None
        else moment.astimezone(timezone.utc)
    )


def _timestamp(value: Any) -> datetime | None:
    """A Rasa float timestamp or an ISO-8601 string as an aware UTC datetime."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return _as_utc(datetime.fromisoformat(text))
        except ValueError:
            return None
    return None


def _iso(moment: datetime) -> str:
    """``2024-05-01T12:30:00.123Z``."""
    return _as_utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")

"""The packet's summary: one deterministic paragraph a person reads in seconds.

What the customer wanted, which orders they mentioned, whether their identity was
verified, what the bot tried and why it handed off, in at most
:data:`SUMMARY_MAX_LENGTH` characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from frontline.handoff.packet.scrubbing import Scrubber
from frontline.handoff.packet.values import clean
from frontline.patterns import normalize_order_id

SUMMARY_MAX_LENGTH = 400

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
    "complaint": "make a complaint",
    "report_fraud": "report fraud or someone else using their account",
    "legal_threat": "take legal action",
    "chargeback": "dispute a payment with their bank",
    "self_harm": "get support (they may be at risk)",
    "refund_status": "know where their refund is",
    "late_delivery": "report a late or missing delivery",
    "payment_problem": "sort out a payment problem",
    "invoice_copy": "get a copy of an invoice",
    "change_protected_details": "change their legal name or date of birth",
    "data_request": "delete their account or see their data (privacy request)",
}

_REASON_LABELS = {
    "customer_request": "customer asked for a person",
    "verification_failed": "identity verification failed",
    "repeated_fallback": "assistant repeatedly did not understand",
    "backend_error": "a backend system failed",
    "out_of_scope": "request out of scope",
    "policy": "policy requires a person",
    "complaint": "complaint",
    "fraud": "possible fraud",
    "legal": "legal threat",
    "chargeback": "chargeback",
    "self_harm": "customer may be at risk",
    "frustration": "customer is frustrated",
    "late_delivery": "delivery late past the policy's days",
    "refund_overdue": "refund overdue",
    "protected_change": "change of a protected detail",
    "privacy_request": "privacy request",
}

ORDER_IN_TEXT_RE = re.compile(r"(?<![\d#*$])#?([1-9]\d{5})(?!\d)")


def wants(events: Iterable[Mapping[str, Any]]) -> list[str]:
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


def orders(
    events: Iterable[Mapping[str, Any]], slots: Mapping[str, Any], scrub: Scrubber
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
            for match in ORDER_IN_TEXT_RE.finditer(scrub(event.get("text"))):
                add(match.group(1))
        elif event.get("event") == "slot" and event.get("name") == "order_id":
            add(event.get("value"))
    add(slots.get("order_id"))
    return found


def summarise(
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
        tier = clean(customer.get("tier"))
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

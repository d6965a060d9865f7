"""Audit records of backend writes, appended by the action server at the moment of the write.

The event broker records every decision from the tracker's events; this record is
made by the action server itself, right after the write (or its refusal), so the
decision, the consent evidence and the idempotency key are on the chain even if the
Rasa server never saves the turn.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from frontline.audit.store import AuditStore, NewRecord
from frontline.errors import AuditError
from frontline.services.guardrails import WriteCheck, WriteContext

logger = logging.getLogger(__name__)

WRITE_KIND = "write"


async def record_write(
    audit: AuditStore | None,
    context: WriteContext,
    check: WriteCheck,
    *,
    idempotency_key: str,
    outcome: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Appends a write's decision and result to the audit trail.

    Never fails the write: an audit trail that cannot be reached is logged as an error
    (the event broker still records the action's log entry with the same key).

    Args:
        audit: The chain (None: nothing is recorded, e.g. in tests without one).
        context: The conversation the write came from.
        check: The guardrail's verdict.
        idempotency_key: The key the write was (or would have been) sent with.
        outcome: What came of it (``cancelled``, ``needs_human``, ...).
        details: What was written (order number, ...); personal data is masked per the
            data-handling policy's ``audit`` place before it is stored.
    """
    if audit is None:
        return
    details = dict(details or {})
    payload = {
        "operation": check.decision.operation,
        "outcome": outcome,
        "idempotency_key": idempotency_key,
        "channel": context.channel,
        "decision": check.decision.as_dict(),
        "consent": check.consent.as_dict(),
        **details,
    }
    _shield_new_value(payload, details)
    try:
        await audit.append_async([NewRecord(WRITE_KIND, payload, context.conversation_id)])
    except (AuditError, ValueError) as exc:
        logger.error(
            "Could not audit %s in %s: %s", check.decision.operation, context.conversation_id, exc
        )


def _shield_new_value(payload: dict[str, Any], details: Mapping[str, Any]) -> None:
    """Keeps a new phone number or address out of the consent evidence's free text.

    For an account change, the consent's ``subject`` (what the customer said yes to) is
    the new value itself: it is filed under the field's key (``{"phone": ...}``), so the
    data-handling policy treats it as it treats that field in each place (masked in the
    audit trail, dropped from exports), and the rationale texts name it by a label.
    """
    account_field = details.get("account_field")
    if not isinstance(account_field, str) or account_field not in details:
        return
    consent = payload["consent"]
    raw = {str(value) for value in (details[account_field], consent.get("subject")) if value}
    label = f"[the new {account_field.replace('_', ' ')}]"
    subject = consent.pop("subject", None)
    payload["consent"] = _replace(consent, raw, label)
    payload["consent"]["subject"] = {account_field: subject} if subject is not None else None
    payload["decision"] = _replace(payload["decision"], raw, label)


def _replace(value: Any, raw: set[str], label: str) -> Any:
    if isinstance(value, str):
        for text in sorted(raw, key=len, reverse=True):
            value = value.replace(text, label)
        return value
    if isinstance(value, Mapping):
        return {key: _replace(item, raw, label) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, raw, label) for item in value]
    return value

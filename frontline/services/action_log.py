"""The ``action_log`` slot: what the assistant attempted and what came of it.

Travels in the tracker, so a handoff packet can tell the human agent exactly what
was already tried. Bounded, so long conversations do not grow the tracker forever.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

MAX_ENTRIES = 20


def log_entry(
    action_log: list[dict[str, Any]] | None,
    action: str,
    result: str,
    detail: str | None = None,
    now: datetime | None = None,
    *,
    idempotency_key: str | None = None,
    rule_id: str | None = None,
) -> list[dict[str, Any]]:
    """Returns a new log with one entry appended (the slot value is never mutated).

    Args:
        idempotency_key: For a backend write, the key it was sent with (the audit
            trail records it with the result).
        rule_id: The policy rule that refused or escalated the action, if one did.
    """
    moment = (now or datetime.now(timezone.utc)).isoformat().replace("+00:00", "Z")
    entry: dict[str, Any] = {"action": action, "result": result, "detail": detail, "at": moment}
    if idempotency_key:
        entry["idempotency_key"] = idempotency_key
    if rule_id:
        entry["rule_id"] = rule_id
    return [*(action_log or []), entry][-MAX_ENTRIES:]

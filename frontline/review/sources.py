"""Where the review inbox's messages come from: records that exist already.

* Customer messages: the audit trail's decision records (``kind = "decision"``), one per
  action the assistant took, each with the message that led to it (its text masked
  for the ``audit`` place), the intent, the runner-up and the model id.
* Contacts: the outcome records (poor ratings, repeat contacts, escalations a person
  said the assistant could have handled).

Nothing here writes; texts leave this module masked again (:func:`masked`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from frontline.audit.store import AuditRecordRow
from frontline.db import get_engine
from frontline.errors import FrontlineError
from frontline.masking import mask_text
from frontline.nlu.clarification_policy import CLARIFY_INTENT, FALLBACK_INTENT

logger = logging.getLogger(__name__)

#: Intents a pipeline component sets in place of the classifier's best one.
SET_BY_COMPONENTS = frozenset({CLARIFY_INTENT, FALLBACK_INTENT})
#: Decision records read per customer message at most (the actions of one turn).
DECISIONS_PER_MESSAGE = 4
MAX_TEXT_LENGTH = 2000


class SourceError(FrontlineError):
    """The audit trail could not be read."""


def masked(text: str | None) -> str:
    """A message's text as people may see it: identifiers masked, bounded length."""
    return (mask_text(text or "") or "").strip()[:MAX_TEXT_LENGTH]


def message_key(conversation_id: str, message_id: str | None, text: str, at: float) -> str:
    """A stable id of one customer message (its Rasa message id, else text and time)."""
    ident = message_id or f"{text}\0{at:.3f}"
    return hashlib.sha256(f"{conversation_id}\0{ident}".encode()).hexdigest()[:32]


def epoch(value: Any) -> float | None:
    """Seconds since the epoch from an ISO time (``...Z``) or a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


@dataclass
class Message:
    """One customer message and what the assistant did with it.

    Attributes:
        key: :func:`message_key`.
        intent: The intent the classifier put first (for a "Did you mean" or a
            fallback: the best intent behind it), None when there was none.
        confidence: That intent's confidence.
        set_intent: ``nlu_clarify`` or ``nlu_fallback`` when a component set one.
        actions: What the assistant did, in order.
    """

    key: str
    conversation_id: str
    at: float
    text: str
    intent: str | None
    confidence: float | None
    set_intent: str | None
    model_id: str | None
    channel: str | None
    actions: list[str] = field(default_factory=list)

    def card(self) -> dict[str, Any]:
        """What the desk shows of the message."""
        return {
            "key": self.key,
            "conversation_id": self.conversation_id,
            "at": self.at,
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "actions": list(self.actions),
        }


def _intent(decision: Mapping[str, Any]) -> tuple[str | None, float | None, str | None]:
    """(intent, confidence, the component's intent) of a decision record."""
    intent = decision.get("intent") or {}
    name, confidence = intent.get("name"), intent.get("confidence")
    if name in SET_BY_COMPONENTS:
        runner_up = decision.get("runner_up") or {}
        return runner_up.get("name"), runner_up.get("confidence"), name
    return name, confidence, None


def messages_from_decisions(decisions: Sequence[Mapping[str, Any]]) -> list[Message]:
    """The customer messages behind decision records (oldest first, one per message).

    Button payloads (``/intent``) and decisions without a message are left out.
    """
    by_key: dict[str, Message] = {}
    last: dict[str, tuple[str, str]] = {}  # conversation -> (text, key) of its last message
    for decision in decisions:
        text = decision.get("text")
        conversation_id = decision.get("conversation_id")
        at = epoch(decision.get("at"))
        if not isinstance(text, str) or not text.strip() or text.startswith("/"):
            continue
        if not isinstance(conversation_id, str) or at is None:
            continue
        shown = masked(text)
        message_id = decision.get("message_id")
        if isinstance(message_id, str) and message_id:
            key = message_key(conversation_id, message_id, shown, at)
        elif conversation_id in last and last[conversation_id][0] == shown:
            key = last[conversation_id][1]  # the next action of the same turn
        else:
            key = message_key(conversation_id, None, shown, at)
        last[conversation_id] = (shown, key)
        message = by_key.get(key)
        if message is None:
            intent, confidence, set_intent = _intent(decision)
            message = by_key[key] = Message(
                key=key,
                conversation_id=conversation_id,
                at=at,
                text=shown,
                intent=intent,
                confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
                set_intent=set_intent,
                model_id=decision.get("model_id"),
                channel=decision.get("channel"),
            )
        message.at = min(message.at, at)
        action = decision.get("action")
        if isinstance(action, str):
            message.actions.append(action)
    return sorted(by_key.values(), key=lambda m: (m.at, m.key))


def read_decisions(database_url: str, chain: str, since: float, limit: int) -> list[dict[str, Any]]:
    """The newest decision records of an audit chain since ``since``, oldest first.

    At most ``limit`` messages' worth (:data:`DECISIONS_PER_MESSAGE` records each).

    Raises:
        SourceError: The audit trail cannot be read.
    """
    from frontline.audit.broker import DECISION_KIND  # imports Rasa: only when needed

    table = AuditRecordRow.__table__
    since_text = datetime.fromtimestamp(since, timezone.utc).isoformat().replace("+00:00", "Z")
    query = (
        sa.select(table.c.payload)
        .where(table.c.chain == chain)
        .where(table.c.kind == DECISION_KIND)
        .where(table.c.recorded_at >= since_text)
        .order_by(table.c.id.desc())
        .limit(limit * DECISIONS_PER_MESSAGE)
    )
    try:
        with get_engine(database_url).connect() as connection:
            payloads = [row.payload for row in connection.execute(query)]
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(f"could not read the audit trail: {exc}") from exc
    decisions = []
    for payload in reversed(payloads):
        try:
            decision = json.loads(payload)
        except ValueError:
            logger.warning("An audit record's payload is not JSON; skipped")
            continue
        if isinstance(decision, dict):
            decisions.append(decision)
    return decisions

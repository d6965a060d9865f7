"""Building a packet from a tracker state: :func:`build_packet`.

It turns what rasa-sdk's ``Tracker.current_state()`` returns into a packet that saves
the agent from reading the whole transcript: who the customer is (masked), what they
wanted, what the bot tried, and why it gave up; then checks it against the schema.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from frontline.handoff.packet import sections, summary
from frontline.handoff.packet.schema import SCHEMA_VERSION, validate_packet
from frontline.handoff.packet.scrubbing import Scrubber
from frontline.handoff.packet.values import WHITESPACE_RE, as_utc, iso, numeric
from frontline.vocabulary import Reason

logger = logging.getLogger(__name__)

PRIORITIES = ("low", "normal", "high", "urgent")
REASON_CODES = (
    "customer_request",
    "verification_failed",
    "repeated_fallback",
    "backend_error",
    "out_of_scope",
    "policy",
    "late_delivery",
    "refund_overdue",
    "protected_change",
    "privacy_request",
)
#: The reason code whose packets are marked ``privacy_request`` (data protection procedure).
PRIVACY_REQUEST_REASON = Reason.PRIVACY_REQUEST

DEFAULT_MAX_TURNS = 10
HANDOFF_ID_LENGTH = 24


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
    events = sections.current_session(all_events)
    user_events = [event for event in all_events if event.get("event") == "user"]
    latest_user = user_events[-1] if user_events else None
    slots = conversation.get("slots") or {}
    latest_message = conversation.get("latest_message") or {}

    scrub = Scrubber(customer, slots)
    turns = sections.turns(events, scrub)
    actions = sections.actions(slots.get("action_log"), scrub)
    rationale_text = scrub(WHITESPACE_RE.sub(" ", str(rationale)).strip())
    created = as_utc(now or datetime.now(timezone.utc))

    packet: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "handoff_id": compute_handoff_id(conversation_id, numeric(latest_user, "timestamp")),
        "conversation_id": conversation_id,
        "channel": sections.channel(conversation, latest_user),
        "created_at": iso(created),
        "priority": priority,
        "reason": sections.reason(reason_code, rationale_text, rule),
        "customer": sections.customer(customer),
        "intent": sections.intent(latest_message),
        "entities": sections.entities(latest_message.get("entities") or [], scrub),
        "summary": summary.summarise(
            wants=summary.wants(events),
            orders=summary.orders(events, slots, scrub),
            customer=customer,
            verification_attempts=slots.get("verification_attempts"),
            actions=actions,
            reason_code=reason_code,
            rationale=rationale_text,
        ),
        "last_turns": turns[-max_turns:] if max_turns else [],
        "actions_attempted": actions,
        "recent_contacts": (
            sections.recent_contacts(recent_contacts, conversation_id)
            if customer is not None
            else []
        ),
    }
    packet["decisions"] = sections.decisions(decisions, scrub)
    if reason_code == PRIVACY_REQUEST_REASON:
        packet["privacy_request"] = True
    agent_slots = sections.agent_slots(slots, scrub)
    if agent_slots:
        packet["slots"] = agent_slots
    validate_packet(packet)
    logger.debug(
        "Built handoff packet %s for conversation %s", packet["handoff_id"], conversation_id
    )
    return packet

"""Handing a conversation to a human: why, how urgent, and the packet on the queue."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from frontline.audit.decisions import decisions_from_events, default_thresholds
from frontline.connectors import CrmClient
from frontline.errors import BackendError, PacketInvalid, QueueError
from frontline.handoff.packet import build_packet
from frontline.handoff.packet.build import PRIVACY_REQUEST_REASON
from frontline.handoff.queue import HandoffQueue, create_from_settings
from frontline.policy import EscalationPolicy, EscalationRule, policies
from frontline.services.contacts import recent_contacts
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

CUSTOMER_REQUEST = "customer_request"
VERIFICATION_FAILED = "verification_failed"
REPEATED_FALLBACK = "repeated_fallback"
BACKEND_ERROR = "backend_error"
POLICY = "policy"
#: Reason codes of the contact types that end with a person (issue 17).
LATE_DELIVERY = "late_delivery"
REFUND_OVERDUE = "refund_overdue"
PROTECTED_CHANGE = "protected_change"
PRIVACY_REQUEST = PRIVACY_REQUEST_REASON
#: Slot with a flow's own one-sentence rationale (e.g. which returns rule needs a person);
#: used instead of the reason code's generic sentence when the flow set one.
HANDOFF_NOTE_SLOT = "handoff_note"

#: Slot naming the policy rule that sent the conversation to a person (id, rationale,
#: policy version), set by the escalation dialogue policy and by refused writes.
ESCALATION_RULE_SLOT = "escalation_rule"


@dataclass(frozen=True)
class HandoffResult:
    """What the customer is told after a successful handoff."""

    reference: str
    priority: str
    wait_note: str
    reason_code: str
    entry_id: str


def determine_reason(conversation: dict[str, Any], policy: EscalationPolicy) -> tuple[str, str]:
    """Returns the reason code and a one-sentence rationale for handing off now.

    An explicit reason set by the flow that gave up wins; otherwise the customer's
    own request, then the conversation's signals.
    """
    slots = conversation.get("slots") or {}
    intent = ((conversation.get("latest_message") or {}).get("intent") or {}).get("name")
    code = slots.get("handoff_reason")
    if not code:
        attempts = int(slots.get("verification_attempts") or 0)
        if intent == "request_human":
            code = CUSTOMER_REQUEST
        elif attempts >= policy.max_verification_attempts:
            code = VERIFICATION_FAILED
        elif intent == "nlu_fallback":
            code = REPEATED_FALLBACK
        else:
            code = CUSTOMER_REQUEST
    # The rationales are policy (policies/escalation.yml `reasons`), not code.
    rationale = policy.reason_rationale(code)
    note = slots.get(HANDOFF_NOTE_SLOT)
    if slots.get("handoff_reason") and isinstance(note, str) and note.strip():
        rationale = note.strip()[:300]  # the packet's rationale holds 300 characters
    rule = EscalationRule.from_slot(slots.get(ESCALATION_RULE_SLOT))
    if slots.get("handoff_reason") and rule is not None and rule.rationale:
        rationale = rule.rationale[:300]  # the rule that fired explains it best
    return code, rationale


def escalation_rule(conversation: dict[str, Any]) -> EscalationRule | None:
    """The policy rule that sent the conversation to a person, if one did."""
    slots = conversation.get("slots") or {}
    if not slots.get("handoff_reason"):
        return None
    return EscalationRule.from_slot(slots.get(ESCALATION_RULE_SLOT))


@lru_cache(maxsize=1)
def handoff_queue() -> HandoffQueue:
    """The process's human queue (Redis Streams if ``REDIS_URL`` is set, else SQL)."""
    return create_from_settings(get_settings())


async def _customer_record(crm: CrmClient, customer_id: str) -> dict[str, Any]:
    try:
        return await crm.get_customer(customer_id)
    except BackendError as exc:
        # The packet still goes out; the agent sees the id and can look the customer up.
        logger.warning("Could not fetch customer %s for the packet: %s", customer_id, exc)
        return {"id": customer_id}


async def _verified_customer(
    crm: CrmClient, conversation: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The verified customer's CRM record and recent contacts (None, [] if unverified)."""
    slots = conversation.get("slots") or {}
    customer_id = slots.get("customer_id")
    if not (slots.get("customer_verified") and customer_id):
        return None, []
    customer, contacts = await asyncio.gather(
        _customer_record(crm, customer_id), recent_contacts(crm, customer_id)
    )
    return customer, contacts


def recent_decisions(
    conversation: dict[str, Any], rule: EscalationRule | None = None
) -> list[dict[str, Any]]:
    """The decision records of the conversation so far, the handoff itself included
    (with ``rule``, the rule it hands off for, even if no slot event shows it)."""
    decisions = decisions_from_events(
        conversation.get("events") or [],
        str(conversation.get("sender_id") or ""),
        thresholds=default_thresholds(),
        versions=policies().versions,
        running="action_handoff",
    )
    if decisions and rule is not None and not decisions[-1]["rules"]:
        decisions[-1]["rules"] = [rule.as_slot()]
    return decisions


async def hand_off(
    conversation: dict[str, Any],
    *,
    crm: CrmClient,
    queue: HandoffQueue,
    policy: EscalationPolicy,
    now: datetime | None = None,
) -> HandoffResult:
    """Builds the context packet for ``conversation`` and puts it on the human queue.

    Args:
        conversation: the tracker state, as ``Tracker.current_state()`` returns it.

    Raises:
        QueueError: the packet could not be built or stored; nothing was queued.
    """
    reason_code, rationale = determine_reason(conversation, policy)
    rule = escalation_rule(conversation)
    customer, contacts = await _verified_customer(crm, conversation)
    priority = policy.priority(
        reason_code, (customer or {}).get("tier"), rule.priority if rule else None
    )
    try:
        packet = build_packet(
            conversation,
            reason_code=reason_code,
            rationale=rationale,
            priority=priority,
            customer=customer,
            now=now,
            recent_contacts=contacts,
            rule=rule.as_slot() if rule else None,
            decisions=recent_decisions(conversation, rule),
        )
    except PacketInvalid as exc:
        raise QueueError(f"handoff packet is invalid: {exc}") from exc
    loop = asyncio.get_running_loop()
    entry_id = await loop.run_in_executor(None, queue.enqueue, packet)
    logger.info(
        "Handed off conversation %s (%s, %s) as %s",
        packet["conversation_id"],
        reason_code,
        priority,
        entry_id,
    )
    return HandoffResult(
        reference=f"HO-{packet['handoff_id'][:8].upper()}",
        priority=priority,
        wait_note=policy.expected_wait(priority),
        reason_code=reason_code,
        entry_id=entry_id,
    )

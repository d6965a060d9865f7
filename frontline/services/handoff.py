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
from frontline.handoff.base import run_blocking
from frontline.handoff.packet import build_packet
from frontline.handoff.queue import HandoffQueue, create_from_settings
from frontline.policy import EscalationPolicy, EscalationRule, policies
from frontline.resilience.outbox import HandoffOutbox, OutboxError
from frontline.resilience.turn import QUEUE
from frontline.services.contacts import recent_contacts
from frontline.settings import get_settings
from frontline.vocabulary import Reason, Slot

logger = logging.getLogger(__name__)

CUSTOMER_REQUEST = Reason.CUSTOMER_REQUEST
VERIFICATION_FAILED = Reason.VERIFICATION_FAILED
REPEATED_FALLBACK = Reason.REPEATED_FALLBACK
BACKEND_ERROR = Reason.BACKEND_ERROR
POLICY = Reason.POLICY
#: Reason codes of the contact types that end with a person (issue 17).
LATE_DELIVERY = Reason.LATE_DELIVERY
REFUND_OVERDUE = Reason.REFUND_OVERDUE
PROTECTED_CHANGE = Reason.PROTECTED_CHANGE
PRIVACY_REQUEST = Reason.PRIVACY_REQUEST
#: Slot with a flow's own one-sentence rationale (e.g. which returns rule needs a person);
#: used instead of the reason code's generic sentence when the flow set one.
HANDOFF_NOTE_SLOT = Slot.HANDOFF_NOTE

#: Slot naming the policy rule that sent the conversation to a person (id, rationale,
#: policy version), set by the escalation dialogue policy and by refused writes.
ESCALATION_RULE_SLOT = Slot.ESCALATION_RULE


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
    code = slots.get(Slot.HANDOFF_REASON)
    if not code:
        attempts = int(slots.get(Slot.VERIFICATION_ATTEMPTS) or 0)
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
    if slots.get(Slot.HANDOFF_REASON) and isinstance(note, str) and note.strip():
        rationale = note.strip()[:300]  # the packet's rationale holds 300 characters
    rule = EscalationRule.from_slot(slots.get(ESCALATION_RULE_SLOT))
    if slots.get(Slot.HANDOFF_REASON) and rule is not None and rule.rationale:
        rationale = rule.rationale[:300]  # the rule that fired explains it best
    return code, rationale


def escalation_rule(conversation: dict[str, Any]) -> EscalationRule | None:
    """The policy rule that sent the conversation to a person, if one did."""
    slots = conversation.get("slots") or {}
    if not slots.get(Slot.HANDOFF_REASON):
        return None
    return EscalationRule.from_slot(slots.get(ESCALATION_RULE_SLOT))


async def _record_for_later(
    outbox: HandoffOutbox, packet: dict[str, Any], error: QueueError
) -> str:
    """Records the packet in the outbox; its id there (``outbox:<id>``).

    Raises:
        QueueError: The outbox could not be written either.
    """
    try:
        recorded = await run_blocking(outbox.add, packet, f"{QUEUE}: {error}")
    except OutboxError as exc:
        raise QueueError(f"{error}; the outbox failed too: {exc}") from exc
    return f"outbox:{recorded.outbox_id}"


@lru_cache(maxsize=1)
def handoff_outbox() -> HandoffOutbox:
    """The process's handoff outbox, in Frontline's database."""
    return HandoffOutbox(get_settings().database_url)


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
    customer_id = slots.get(Slot.CUSTOMER_ID)
    if not (slots.get(Slot.CUSTOMER_VERIFIED) and customer_id):
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
    outbox: HandoffOutbox | None = None,
) -> HandoffResult:
    """Builds the context packet for ``conversation`` and puts it on the human queue.

    Args:
        conversation: the tracker state, as ``Tracker.current_state()`` returns it.
        outbox: Where the packet waits when the queue cannot be reached (delivered once
            it answers: :mod:`frontline.resilience.outbox`); the result's ``entry_id``
            is then ``outbox:<id>``.

    Raises:
        QueueError: the packet could not be built or stored (on the queue, nor in the
            outbox); nothing was queued.
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
    try:
        entry_id = await loop.run_in_executor(None, queue.enqueue, packet)
    except QueueError as exc:
        if outbox is None:
            raise
        entry_id = await _record_for_later(outbox, packet, exc)
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

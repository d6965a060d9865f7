"""Handing a conversation to a human: why, how urgent, and the packet on the queue."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from frontline.connectors import CrmClient
from frontline.errors import BackendError, PacketInvalid, QueueError
from frontline.handoff.packet import build_packet
from frontline.handoff.queue import HandoffQueue, create_from_settings
from frontline.policy import EscalationPolicy
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

CUSTOMER_REQUEST = "customer_request"
VERIFICATION_FAILED = "verification_failed"
REPEATED_FALLBACK = "repeated_fallback"
BACKEND_ERROR = "backend_error"

RATIONALES = {
    CUSTOMER_REQUEST: "The customer asked to talk to a person.",
    VERIFICATION_FAILED: "The customer could not be verified against the CRM after {n} attempts.",
    REPEATED_FALLBACK: "The assistant did not understand the customer several times in a row.",
    BACKEND_ERROR: "A backend system did not answer, so the assistant could not finish safely.",
    "out_of_scope": "The customer needs help with something the assistant does not handle.",
    "policy": "A policy rule requires a human for this request.",
}


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
    rationale = RATIONALES.get(code, RATIONALES["policy"]).format(
        n=policy.max_verification_attempts
    )
    return code, rationale


@lru_cache(maxsize=1)
def handoff_queue() -> HandoffQueue:
    """The process's human queue (Redis Streams if ``REDIS_URL`` is set, else SQL)."""
    return create_from_settings(get_settings())


async def _verified_customer(crm: CrmClient, conversation: dict[str, Any]) -> dict[str, Any] | None:
    slots = conversation.get("slots") or {}
    customer_id = slots.get("customer_id")
    if not (slots.get("customer_verified") and customer_id):
        return None
    try:
        return await crm.get_customer(customer_id)
    except BackendError as exc:
        # The packet still goes out; the agent sees the id and can look the customer up.
        logger.warning("Could not fetch customer %s for the packet: %s", customer_id, exc)
        return {"id": customer_id}


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
    customer = await _verified_customer(crm, conversation)
    priority = policy.priority(reason_code, (customer or {}).get("tier"))
    try:
        packet = build_packet(
            conversation,
            reason_code=reason_code,
            rationale=rationale,
            priority=priority,
            customer=customer,
            now=now,
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

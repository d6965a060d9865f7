"""The backends an action talks to, injected so tests can point them anywhere."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rasa_sdk import Tracker

from frontline.audit.store import AuditStore, audit_store
from frontline.connectors import (
    BillingClient,
    CrmClient,
    OrdersClient,
    billing_client,
    crm_client,
    orders_client,
)
from frontline.context import ConversationContext
from frontline.feedback import FeedbackStore, feedback_store
from frontline.handoff.queue import HandoffQueue
from frontline.identity import IdentityStore, identity_store
from frontline.policy import (
    EscalationPolicy,
    Policies,
    ReturnsPolicy,
    escalation_policy,
    policies,
    returns_policy,
)
from frontline.policy.delivery import DeliveryPolicy, delivery_policy
from frontline.resilience.outbox import HandoffOutbox
from frontline.services.guardrails import WriteContext
from frontline.services.handoff import handoff_outbox, handoff_queue
from frontline.settings import business_now
from frontline.vocabulary import Slot


@dataclass(frozen=True)
class Backends:
    """Connectors, queue, stores and policies used by the actions.

    Attributes:
        clock: The instant date rules are judged at (``FRONTLINE_AS_OF`` or now).
        rules: Every policy module, for the guardrail before each write.
        audit: Where writes record their decision and result (None: not recorded).
        delivery: When a late order goes to a person (``policies/delivery.yml``).
        identity: Who was verified in which conversation (server-side; never the slots).
    """

    crm: CrmClient
    orders: OrdersClient
    queue: HandoffQueue
    escalation: EscalationPolicy
    billing: BillingClient
    returns: ReturnsPolicy
    feedback: FeedbackStore
    clock: Callable[[], datetime] = field(default=business_now)
    rules: Policies = field(default_factory=policies)
    audit: AuditStore | None = None
    delivery: DeliveryPolicy = field(default_factory=delivery_policy)
    identity: IdentityStore = field(default_factory=identity_store)
    #: Where a handoff waits when the queue is down (None: the handoff fails instead).
    outbox: HandoffOutbox | None = None


def default_backends() -> Backends:
    """The process-wide backends configured from settings (created on first use)."""
    return Backends(
        crm=crm_client(),
        orders=orders_client(),
        queue=handoff_queue(),
        escalation=escalation_policy(),
        billing=billing_client(),
        returns=returns_policy(),
        feedback=feedback_store(),
        rules=policies(),
        audit=audit_store(),
        identity=identity_store(),
        outbox=handoff_outbox(),
    )


class UsesBackends:
    """Mixin: ``self.backends`` is the injected set, or the process-wide one."""

    def __init__(self, backends: Backends | None = None) -> None:
        self._backends = backends

    @property
    def backends(self) -> Backends:
        if self._backends is None:
            self._backends = default_backends()
        return self._backends

    async def verified_customer(
        self, tracker: Tracker, slots: Mapping[str, Any] | None = None
    ) -> str | None:
        """The customer verified in this conversation, from Frontline's identity store.

        Every read of account data and every write uses this. The store decides who was
        verified (a forged tracker whose slots claim it gets None); the slots decide that
        the verification still holds in this session (after a restart, or a new session,
        whose slots are reset, the customer verifies again).

        Args:
            slots: The slots as they stand now (default: the tracker's), e.g. with this
                turn's verification applied.
        """
        slots = tracker.slots if slots is None else slots
        stored = await self.backends.identity.verified_customer_async(tracker.sender_id)
        if stored and slots.get(Slot.CUSTOMER_VERIFIED) and slots.get(Slot.CUSTOMER_ID) == stored:
            return stored
        return None

    async def conversation(self, tracker: Tracker) -> ConversationContext:
        """The typed context of the conversation, identity from the server-side store."""
        return ConversationContext.from_state(
            tracker.current_state(), await self.verified_customer(tracker)
        )

    async def write_context(self, tracker: Tracker) -> WriteContext:
        """What the write path needs to know about the conversation."""
        return (await self.conversation(tracker)).write_context()

"""The backends an action talks to, injected so tests can point them anywhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from frontline.audit.store import AuditStore, audit_store
from frontline.connectors import (
    BillingClient,
    CrmClient,
    OrdersClient,
    billing_client,
    crm_client,
    orders_client,
)
from frontline.feedback import FeedbackStore, feedback_store
from frontline.handoff.queue import HandoffQueue
from frontline.policy import (
    EscalationPolicy,
    Policies,
    ReturnsPolicy,
    escalation_policy,
    policies,
    returns_policy,
)
from frontline.policy.delivery import DeliveryPolicy, delivery_policy
from frontline.services.handoff import handoff_queue
from frontline.settings import business_now


@dataclass(frozen=True)
class Backends:
    """Connectors, queue, stores and policies used by the actions.

    Attributes:
        clock: The instant date rules are judged at (``FRONTLINE_AS_OF`` or now).
        rules: Every policy module, for the guardrail before each write.
        audit: Where writes record their decision and result (None: not recorded).
        delivery: When a late order goes to a person (``policies/delivery.yml``).
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

"""The backends an action talks to, injected so tests can point them anywhere."""

from __future__ import annotations

from dataclasses import dataclass

from frontline.connectors import CrmClient, OrdersClient, crm_client, orders_client
from frontline.handoff.queue import HandoffQueue
from frontline.policy import EscalationPolicy, escalation_policy
from frontline.services.handoff import handoff_queue


@dataclass(frozen=True)
class Backends:
    """Connectors, queue and policies used by the actions."""

    crm: CrmClient
    orders: OrdersClient
    queue: HandoffQueue
    escalation: EscalationPolicy


def default_backends() -> Backends:
    """The process-wide backends configured from settings (created on first use)."""
    return Backends(
        crm=crm_client(),
        orders=orders_client(),
        queue=handoff_queue(),
        escalation=escalation_policy(),
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

"""The delivery policy (``policies/delivery.yml``): when a late order goes to a person.

:mod:`frontline.services.late_delivery` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from frontline.policy.loading import PolicyView, RuleValue, load_policy


@dataclass(frozen=True)
class DeliveryPolicy(PolicyView):
    """Typed view of the delivery policy module (``policies/delivery.yml``)."""

    #: Whole days past the promised date from which an undelivered order is late.
    late_after_days = RuleValue(int, "late_after_days")

    #: Order states still on their way to the customer.
    undelivered_states = RuleValue(frozenset, "undelivered_states")

    #: Days after delivery during which "it never arrived" is a missing-parcel claim.
    missing_parcel_claim_days = RuleValue(int, "missing_parcel_claim_days")

    def rule_reference(self, rule: str) -> str:
        """``delivery 1.0.0, late_after_days``: names a rule for an agent."""
        return f"{self.module.name} {self.version}, {rule}"


@cache
def delivery_policy(policies_dir: Path | None = None) -> DeliveryPolicy:
    """The delivery policy, loaded once per process."""
    return DeliveryPolicy(load_policy("delivery", policies_dir))

"""The returns policy (``policies/returns.yml``): returns and refunds without a person.

Which order states can be returned, the return window, the largest refund the
assistant grants on its own and what the customer is told about the refund reaching
their card. :mod:`frontline.services.returns` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from frontline.policy.loading import PolicyView, RuleValue, load_policy


@dataclass(frozen=True)
class ReturnsPolicy(PolicyView):
    """Typed view of the returns policy module (``policies/returns.yml``)."""

    #: Order states in which a return can be started.
    returnable_states = RuleValue(frozenset, "returnable_states")

    #: Days after delivery during which a return needs no person.
    window_days = RuleValue(int, "window", "days")

    #: The largest refund issued without a person's approval (inclusive).
    max_automatic_refund = RuleValue(Decimal, "refund", "max_automatic_amount")

    currency = RuleValue(str, "refund", "currency")

    #: What the customer is told about when a refund reaches their card.
    business_days_to_card = RuleValue(int, "refund", "business_days_to_card")

    #: Days past a refund's expected arrival after which it is overdue (a person chases it).
    refund_overdue_after_days = RuleValue(int, "refund", "overdue_after_days")

    def rule_reference(self, rule: str) -> str:
        """``returns 1.0.0, refund.max_automatic_amount``: names a rule for an agent."""
        return f"{self.module.name} {self.version}, {rule}"


@cache
def returns_policy(policies_dir: Path | None = None) -> ReturnsPolicy:
    """The returns policy, loaded once per process."""
    return ReturnsPolicy(load_policy("returns", policies_dir))

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

from frontline.policy.loading import PolicyView, load_policy


@dataclass(frozen=True)
class ReturnsPolicy(PolicyView):
    """Typed view of the returns policy module (``policies/returns.yml``)."""

    @property
    def returnable_states(self) -> frozenset[str]:
        """Order states in which a return can be started."""
        return frozenset(self.module.rules["returnable_states"])

    @property
    def window_days(self) -> int:
        """Days after delivery during which a return needs no person."""
        return int(self.module.rules["window"]["days"])

    @property
    def max_automatic_refund(self) -> Decimal:
        """The largest refund issued without a person's approval (inclusive)."""
        return Decimal(self.module.rules["refund"]["max_automatic_amount"])

    @property
    def currency(self) -> str:
        return str(self.module.rules["refund"]["currency"])

    @property
    def business_days_to_card(self) -> int:
        """What the customer is told about when a refund reaches their card."""
        return int(self.module.rules["refund"]["business_days_to_card"])

    def rule_reference(self, rule: str) -> str:
        """``returns 1.0.0, refund.max_automatic_amount``: names a rule for an agent."""
        return f"{self.module.name} {self.version}, {rule}"


@cache
def returns_policy(policies_dir: Path | None = None) -> ReturnsPolicy:
    """The returns policy, loaded once per process."""
    return ReturnsPolicy(load_policy("returns", policies_dir))

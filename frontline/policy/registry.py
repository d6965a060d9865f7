"""Every policy module, loaded and cross-checked together.

:func:`policies` loads the four modules the assistant applies on every message and
before every write (escalation, consent, scope, data handling) once per process, from
``settings.policies_dir``; :func:`typed_view` gives the checked view of any module by
name (``python -m frontline.policy_check`` uses it on every file of ``policies/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from frontline.errors import ConfigurationError
from frontline.policy.consent import ConsentPolicy
from frontline.policy.data_handling import DataHandlingPolicy
from frontline.policy.delivery import DeliveryPolicy
from frontline.policy.escalation import EscalationRules
from frontline.policy.loading import PolicyModule, PolicyView, load_policy
from frontline.policy.returns import ReturnsPolicy
from frontline.policy.scope import ScopePolicy

#: The typed view of each module, by the module's name.
VIEWS: dict[str, type[PolicyView]] = {
    "escalation": EscalationRules,
    "consent": ConsentPolicy,
    "scope": ScopePolicy,
    "data_handling": DataHandlingPolicy,
    "returns": ReturnsPolicy,
    "delivery": DeliveryPolicy,
}
#: The modules :class:`Policies` holds (``returns`` and ``delivery`` are read by their
#: flows alone).
MODULE_NAMES = ("escalation", "consent", "scope", "data_handling")


@dataclass(frozen=True)
class Policies:
    """Every policy module, validated together."""

    escalation: EscalationRules
    consent: ConsentPolicy
    scope: ScopePolicy
    data_handling: DataHandlingPolicy

    def __post_init__(self) -> None:
        undeclared = sorted(set(self.consent.operations) - set(self.escalation.writes))
        if undeclared:
            raise ConfigurationError(
                f"policy 'consent' names writes that policy 'escalation' does not declare: "
                f"{', '.join(undeclared)}"
            )

    @property
    def versions(self) -> dict[str, str]:
        """``{"escalation": "1.1.0", ...}``: recorded with every decision."""
        return {name: getattr(self, name).version for name in MODULE_NAMES}


def load_policies(policies_dir: Path | None = None) -> Policies:
    """Loads and cross-checks every policy module.

    Raises:
        ConfigurationError: any module is missing or invalid.
    """
    return Policies(
        escalation=EscalationRules(load_policy("escalation", policies_dir)),
        consent=ConsentPolicy(load_policy("consent", policies_dir)),
        scope=ScopePolicy(load_policy("scope", policies_dir)),
        data_handling=DataHandlingPolicy(load_policy("data_handling", policies_dir)),
    )


@cache
def policies(policies_dir: Path | None = None) -> Policies:
    """Every policy module, loaded once per process."""
    return load_policies(policies_dir)


def typed_view(module: PolicyModule) -> PolicyView | None:
    """The typed view of a module with semantic checks, or None for modules without one.

    Raises:
        ConfigurationError: the module breaks a rule its schema cannot express.
    """
    view = VIEWS.get(module.name)
    return view(module) if view else None

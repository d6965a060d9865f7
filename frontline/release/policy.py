"""The typed view of ``policies/release.yml``: the gate's margins and the canary's settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from frontline.policy.loading import PolicyModule, PolicyView, RuleValue, load_policy

MODULE_NAME = "release"
#: The policy modules this package reads (``python -m frontline.policy_check`` requires them).
MODULE_NAMES = (MODULE_NAME,)


@dataclass(frozen=True)
class SliceMargins:
    """How much worse than production a candidate may be on one slice (share points)."""

    max_resolved_drop: float
    max_first_time_drop: float
    max_rephrase_rise: float
    max_misrouted_rise: float
    max_out_of_scope_caught_drop: float


@dataclass(frozen=True)
class IntentMargins:
    """The same per intent, pooled over the compared slices."""

    min_messages: int
    max_resolved_drop: float
    max_misrouted_rise: float


@dataclass(frozen=True)
class GateMargins:
    """Everything the gate judges with (:func:`frontline.release.gate.judge`)."""

    required_checks: tuple[str, ...]
    slices: tuple[str, ...]
    slice: SliceMargins
    intent: IntentMargins
    max_macro_f1_drop: float


@dataclass(frozen=True)
class ReleasePolicy(PolicyView):
    """Typed view of ``policies/release.yml``."""

    cv_folds = RuleValue(int, "cross_validation", "folds")
    canary_percentage = RuleValue(float, "canary", "percentage")
    canary_bucket = RuleValue(str, "canary", "bucket")
    repeat_contact_days = RuleValue(float, "canary", "repeat_contact_days")
    confidence = RuleValue(float, "canary", "confidence")
    min_sample = RuleValue(int, "canary", "min_sample")
    max_refusal_rise = RuleValue(float, "canary", "max_refusal_rise")

    @property
    def margins(self) -> GateMargins:
        rules = self.module.rules
        return GateMargins(
            required_checks=tuple(rules["required_checks"]),
            slices=tuple(rules["slices"]),
            slice=SliceMargins(**{k: float(v) for k, v in rules["margins"].items()}),
            intent=IntentMargins(
                min_messages=int(rules["per_intent"]["min_messages"]),
                max_resolved_drop=float(rules["per_intent"]["max_resolved_drop"]),
                max_misrouted_rise=float(rules["per_intent"]["max_misrouted_rise"]),
            ),
            max_macro_f1_drop=float(rules["cross_validation"]["max_macro_f1_drop"]),
        )


def typed_view(module: PolicyModule) -> ReleasePolicy | None:
    """The checked view of the release module (None for any other module)."""
    return ReleasePolicy(module) if module.name == MODULE_NAME else None


@cache
def release_policy(policies_dir: Path | None = None) -> ReleasePolicy:
    """``policies/release.yml``, loaded once per process.

    Raises:
        ConfigurationError: the file is missing or invalid.
    """
    return ReleasePolicy(load_policy(MODULE_NAME, policies_dir))

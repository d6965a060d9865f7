"""Typed view of ``policies/review.yml``: what the review inbox shows and how it ranks it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from frontline.policy.loading import PolicyModule, PolicyView, invalid, load_policy

MODULE_NAME = "review"
#: The signals a message can carry (each has a weight in the policy).
SIGNALS = (
    "low_confidence",
    "clarification",
    "rephrase",
    "fallback",
    "agent_flag",
    "escalation_flagged",
    "poor_rating",
    "repeat_contact",
)
#: What a reviewer may decide about a message (or a group of messages).
DECISIONS = ("confirm", "correct", "out_of_scope", "new_intent")
#: The intent an ``out_of_scope`` label gives a message (data/nlu/out_of_scope.yml).
OUT_OF_SCOPE_INTENT = "out_of_scope"


@dataclass(frozen=True)
class ReviewPolicy(PolicyView):
    """The review module's rules, by name."""

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(SIGNALS)
        if unknown:
            raise invalid(self.module, "weights", f"unknown signals {sorted(unknown)}")

    @property
    def rules(self) -> Mapping[str, object]:
        return self.module.rules

    @property
    def window_seconds(self) -> float:
        return float(self.module.rules["window_days"]) * 86_400.0

    @property
    def max_messages(self) -> int:
        return int(self.module.rules["max_messages"])

    @property
    def low_confidence_below(self) -> float:
        return float(self.module.rules["low_confidence_below"])

    @property
    def csat_at_most(self) -> int:
        return int(self.module.rules["csat_at_most"])

    def names(self, key: str) -> frozenset[str]:
        """One of the lists of action names."""
        return frozenset(self.module.rules[key])

    @property
    def weights(self) -> Mapping[str, float]:
        return {name: float(value) for name, value in self.module.rules["weights"].items()}

    @property
    def group_similarity(self) -> float:
        return float(self.module.rules["group_similarity"])

    @property
    def flag_reasons(self) -> Mapping[str, str]:
        return dict(self.module.rules["flag_reasons"])

    @property
    def verdicts(self) -> Mapping[str, str]:
        return dict(self.module.rules["verdicts"])

    @property
    def export_directory(self) -> str:
        return str(self.module.rules["export"]["directory"])

    @property
    def near_duplicate_similarity(self) -> float:
        return float(self.module.rules["export"]["near_duplicate_similarity"])

    @property
    def placeholders(self) -> Mapping[str, str]:
        return dict(self.module.rules["export"]["placeholders"])


def typed_view(module: PolicyModule) -> ReviewPolicy | None:
    """The view of the review module (None for any other module)."""
    return ReviewPolicy(module) if module.name == MODULE_NAME else None


@cache
def review_policy(policies_dir: Path | None = None) -> ReviewPolicy:
    """Loads and checks ``policies/review.yml`` once per process.

    Raises:
        ConfigurationError: The module is missing or invalid.
    """
    return ReviewPolicy(load_policy(MODULE_NAME, policies_dir))

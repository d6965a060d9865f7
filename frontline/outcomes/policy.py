"""Typed views of the policy modules the outcome records and metrics read.

* ``outcomes`` (:class:`OutcomePolicy`): what counts as resolved, abandoned, a repeat
  contact, a clarifying question, a failed backend call; the impact matrix's rules.
* ``cost`` (:class:`CostModel`): what a contact costs with and without the assistant.
* ``slo`` (:class:`SloPolicy`): the service-level objectives and how they are judged.

Each is validated against ``policies/schemas/<name>.schema.json`` by
:func:`frontline.policy.load_policy`, then checked here for what a schema cannot say.
:func:`outcome_policies` loads all three once per process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from frontline.errors import ConfigurationError
from frontline.policy import PolicyModule, load_policy

MODULE_NAMES = ("outcomes", "cost", "slo")
RATE_METRICS = ("resolution_rate", "csat_top2", "failed_backend_rate")
WAIT_METRIC = "escalation_wait_p95_seconds"


def _invalid(module: PolicyModule, where: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"policy '{module.name}' is invalid at rules/{where}: {problem}")


@dataclass(frozen=True)
class MatrixRule:
    """One rule of the impact matrix: a recommendation and when it applies."""

    recommend: str
    min_complexity: float | None = None
    max_complexity: float | None = None
    min_volume_share: float | None = None
    max_volume_share: float | None = None

    def applies(self, complexity: float, volume_share: float) -> bool:
        """Whether an interaction type of this complexity and volume share matches."""
        return (
            (self.min_complexity is None or complexity >= self.min_complexity)
            and (self.max_complexity is None or complexity <= self.max_complexity)
            and (self.min_volume_share is None or volume_share >= self.min_volume_share)
            and (self.max_volume_share is None or volume_share <= self.max_volume_share)
        )

    @property
    def unconditional(self) -> bool:
        return all(
            value is None
            for value in (
                self.min_complexity,
                self.max_complexity,
                self.min_volume_share,
                self.max_volume_share,
            )
        )


@dataclass(frozen=True)
class OutcomePolicy:
    """Typed view of ``policies/outcomes.yml``."""

    module: PolicyModule

    def __post_init__(self) -> None:
        weights = self.complexity_weights
        if abs(sum(weights.values()) - 1.0) > 1e-6:
            raise _invalid(
                self.module, "impact_matrix/complexity_weights", "the weights must add up to 1"
            )
        rules = self.matrix_rules
        if not rules[-1].unconditional:
            raise _invalid(
                self.module, "impact_matrix/rules", "the last rule must have no conditions"
            )
        for index, rule in enumerate(rules):
            for low, high in (
                (rule.min_complexity, rule.max_complexity),
                (rule.min_volume_share, rule.max_volume_share),
            ):
                if low is not None and high is not None and low > high:
                    raise _invalid(
                        self.module, f"impact_matrix/rules/{index}", "a minimum exceeds a maximum"
                    )

    @property
    def version(self) -> str:
        return self.module.version

    @property
    def rules(self) -> Mapping[str, Any]:
        return self.module.rules

    @property
    def abandon_after_seconds(self) -> float:
        return float(self.rules["abandon_after_minutes"]) * 60.0

    @property
    def repeat_contact_seconds(self) -> float:
        return float(self.rules["repeat_contact_days"]) * 86_400.0

    def names(self, key: str) -> frozenset[str]:
        """One of the policy's lists of names (intents, responses, codes...)."""
        return frozenset(self.rules[key])

    def is_answer(self, response: str | None) -> bool:
        """Whether a response answers a question in full (an FAQ answer)."""
        return bool(response) and any(
            str(response).startswith(prefix) for prefix in self.rules["answer_responses"]
        )

    @property
    def complexity_weights(self) -> Mapping[str, float]:
        return {k: float(v) for k, v in self.rules["impact_matrix"]["complexity_weights"].items()}

    @property
    def turns_cap(self) -> float:
        return float(self.rules["impact_matrix"]["turns_cap"])

    @property
    def csat_prior_strength(self) -> float:
        return float(self.rules["impact_matrix"]["csat_prior_strength"])

    @property
    def unresolved_csat_top2_prior(self) -> float:
        return float(self.rules["impact_matrix"]["unresolved_csat_top2_prior"])

    @property
    def matrix_rules(self) -> tuple[MatrixRule, ...]:
        return tuple(MatrixRule(**rule) for rule in self.rules["impact_matrix"]["rules"])


@dataclass(frozen=True)
class CostModel:
    """Typed view of ``policies/cost.yml``."""

    module: PolicyModule

    def __post_init__(self) -> None:
        if self.agent_minute_cost <= 0:
            raise _invalid(self.module, "agent_minute_cost", "must be more than zero")

    @property
    def version(self) -> str:
        return self.module.version

    @property
    def currency(self) -> str:
        return str(self.module.rules["currency"])

    @property
    def agent_minute_cost(self) -> Decimal:
        return Decimal(self.module.rules["agent_minute_cost"])

    @property
    def assistant_contact_cost(self) -> Decimal:
        return Decimal(self.module.rules["assistant_contact_cost"])

    @property
    def wrap_up_minutes(self) -> float:
        return float(self.module.rules["wrap_up_minutes"])

    def baseline_minutes(self, interaction_type: str | None) -> float:
        """Minutes a person would spend on a contact of this type without the assistant."""
        table = self.module.rules["baseline_handle_minutes"]
        return float(table.get(interaction_type or "", table["default"]))

    @property
    def baseline_uncertainty(self) -> float:
        return float(self.module.rules["baseline_uncertainty"])

    @property
    def interval_resamples(self) -> int:
        return int(self.module.rules["interval_resamples"])

    @property
    def interval_confidence(self) -> float:
        return float(self.module.rules["interval_confidence"])


@dataclass(frozen=True)
class Objective:
    """One service-level objective.

    Attributes:
        objective_id: Stable id (``resolution_rate``), shown with every evaluation.
        metric: ``resolution_rate``, ``csat_top2``, ``failed_backend_rate`` (rates) or
            ``escalation_wait_p95_seconds``.
        target: The value not to cross.
        direction: ``min`` (the metric must stay at or above the target) or ``max``.
        per: Segment dimensions evaluated separately (``channel``, ``tier``).
        where: Fixed segment values the objective is limited to.
    """

    objective_id: str
    metric: str
    target: float
    direction: str
    per: tuple[str, ...] = ()
    where: Mapping[str, str] | None = None

    @property
    def is_rate(self) -> bool:
        return self.metric in RATE_METRICS


@dataclass(frozen=True)
class SloPolicy:
    """Typed view of ``policies/slo.yml``."""

    module: PolicyModule

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for index, objective in enumerate(self.objectives):
            where = f"objectives/{index}"
            if objective.objective_id in seen:
                raise _invalid(self.module, where, f"duplicate id {objective.objective_id!r}")
            seen.add(objective.objective_id)
            if objective.is_rate and objective.target > 1:
                raise _invalid(self.module, where, "a rate's target is a share, at most 1")
            overlap = set(objective.per) & set(objective.where or {})
            if overlap:
                raise _invalid(self.module, where, f"{sorted(overlap)} is both in per and where")

    @property
    def version(self) -> str:
        return self.module.version

    @property
    def window_seconds(self) -> float:
        return float(self.module.rules["window_hours"]) * 3600.0

    @property
    def confidence(self) -> float:
        return float(self.module.rules["confidence"])

    @property
    def min_sample(self) -> int:
        return int(self.module.rules["min_sample"])

    @property
    def evaluate_every_seconds(self) -> float:
        return float(self.module.rules["evaluate_every_seconds"])

    @property
    def objectives(self) -> tuple[Objective, ...]:
        objectives = []
        for spec in self.module.rules["objectives"]:
            direction = "min" if "min" in spec else "max"
            objectives.append(
                Objective(
                    objective_id=spec["id"],
                    metric=spec["metric"],
                    target=float(spec[direction]),
                    direction=direction,
                    per=tuple(spec.get("per") or ()),
                    where=dict(spec["where"]) if spec.get("where") else None,
                )
            )
        return tuple(objectives)


@dataclass(frozen=True)
class OutcomePolicies:
    """The three modules, loaded together."""

    outcomes: OutcomePolicy
    cost: CostModel
    slo: SloPolicy

    @property
    def versions(self) -> dict[str, str]:
        return {
            "outcomes": self.outcomes.version,
            "cost": self.cost.version,
            "slo": self.slo.version,
        }


#: Typed view of each module, for ``python -m frontline.policy_check``.
VIEWS = {"outcomes": OutcomePolicy, "cost": CostModel, "slo": SloPolicy}


def typed_view(module: PolicyModule) -> object | None:
    """The typed view of one of these modules (None for any other module).

    Raises:
        ConfigurationError: The module breaks a rule its schema cannot express.
    """
    view = VIEWS.get(module.name)
    return view(module) if view else None


def load_outcome_policies(policies_dir: Path | None = None) -> OutcomePolicies:
    """Loads and checks the three modules.

    Raises:
        ConfigurationError: A module is missing or invalid.
    """
    return OutcomePolicies(
        outcomes=OutcomePolicy(load_policy("outcomes", policies_dir)),
        cost=CostModel(load_policy("cost", policies_dir)),
        slo=SloPolicy(load_policy("slo", policies_dir)),
    )


@cache
def outcome_policies(policies_dir: Path | None = None) -> OutcomePolicies:
    """The three modules, loaded once per process."""
    return load_outcome_policies(policies_dir)

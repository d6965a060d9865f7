"""When to answer, when to ask "Did you mean …?", when to ask to rephrase.

One decision, shared by the Rasa component that makes it on every message
(``frontline.nlu.clarifier``), the tool that chooses its thresholds from cross-validated
predictions (``frontline.tools.clarification_tuning``) and the NLU reports:

1. the best intent's confidence is below ``threshold`` (the FallbackClassifier's): the
   message is not understood (``nlu_fallback``: rephrase, then a person);
2. else, when it is below ``clarify_threshold`` or the runner-up is within
   ``ambiguity_margin`` of it, the message is *unclear*: if a business intent is among the
   ``candidates`` best intents with at least ``min_option_confidence``, the assistant
   offers the ``max_options`` best of them as buttons, plus "Something else"
   (``nlu_clarify``); if none is, nothing risky is at stake (a greeting, a FAQ, out of
   scope) and the best intent is answered;
3. else the best intent is answered.

Which intents are business options, and the labels customers see on the buttons, live in
``policies/clarification.yml`` (:class:`ClarificationPolicy`); the three thresholds in
``config.yml``, written there by ``make tune-thresholds``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from frontline.errors import ConfigurationError
from frontline.policy.loading import PolicyModule, load_policy

CLARIFY_INTENT = "nlu_clarify"
FALLBACK_INTENT = "nlu_fallback"


class Decision(str, enum.Enum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class Thresholds:
    """The three values ``make tune-thresholds`` chooses (config.yml holds them)."""

    threshold: float
    clarify_threshold: float
    ambiguity_margin: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= self.clarify_threshold <= 1.0:
            raise ConfigurationError(
                f"clarification thresholds out of order: need 0 <= threshold "
                f"({self.threshold}) <= clarify_threshold ({self.clarify_threshold}) <= 1"
            )
        if not 0.0 <= self.ambiguity_margin <= 1.0:
            raise ConfigurationError(f"ambiguity_margin {self.ambiguity_margin} not in [0, 1]")


@dataclass(frozen=True)
class TuningTargets:
    """What ``make tune-thresholds`` must keep while it maximises resolved messages."""

    max_misroute: float
    min_out_of_scope: float
    confidence: float


@dataclass(frozen=True)
class ClarificationPolicy:
    """Typed view of ``policies/clarification.yml``."""

    module: PolicyModule

    def __post_init__(self) -> None:
        labels = list(self.labels.values())
        if len(set(labels)) != len(labels):
            raise ConfigurationError(
                "policy 'clarification': two offerable intents share a button label"
            )
        if self.something_else_label in labels:
            raise ConfigurationError(
                "policy 'clarification': 'something_else_label' is also an intent's label"
            )

    @property
    def version(self) -> str:
        return self.module.version

    @property
    def labels(self) -> Mapping[str, str]:
        """Offerable business intents and their button labels, e.g. "Cancel an order"."""
        return dict(self.module.rules["offerable"])

    @property
    def offerable(self) -> frozenset[str]:
        return frozenset(self.labels)

    @property
    def max_options(self) -> int:
        return int(self.module.rules["max_options"])

    @property
    def candidates(self) -> int:
        """How many of the classifier's best intents an option may come from."""
        return int(self.module.rules["candidates"])

    @property
    def min_option_confidence(self) -> float:
        return float(self.module.rules["min_option_confidence"])

    @property
    def something_else_label(self) -> str:
        return str(self.module.rules["something_else_label"])

    @property
    def targets(self) -> TuningTargets:
        tuning = self.module.rules["tuning"]
        return TuningTargets(
            max_misroute=float(tuning["max_misroute"]),
            min_out_of_scope=float(tuning["min_out_of_scope"]),
            confidence=float(tuning["confidence"]),
        )

    @property
    def click_cost(self) -> float:
        """How much less a right answer after a click is worth (for the tuning)."""
        return float(self.module.rules["tuning"]["click_cost"])

    def options(self, ranking: Sequence[tuple[str, float]]) -> list[str]:
        """The business intents to offer for a ranking (best first), at most ``max_options``."""
        chosen = []
        for name, confidence in ranking[: self.candidates]:
            if name in self.offerable and confidence >= self.min_option_confidence:
                chosen.append(name)
            if len(chosen) == self.max_options:
                break
        return chosen

    def decide(
        self, ranking: Sequence[tuple[str, float]], thresholds: Thresholds
    ) -> tuple[Decision, list[str]]:
        """What to do with a message whose intents ranked ``ranking`` (best first).

        Returns:
            The decision, and the intents to offer when it is ``CLARIFY``.
        """
        ranking = [(n, c) for n, c in ranking if n not in (FALLBACK_INTENT, CLARIFY_INTENT)]
        if not ranking:
            return Decision.FALLBACK, []
        top = ranking[0][1]
        runner_up = ranking[1][1] if len(ranking) > 1 else 0.0
        if top < thresholds.threshold:
            return Decision.FALLBACK, []
        if top >= thresholds.clarify_threshold and top - runner_up >= thresholds.ambiguity_margin:
            return Decision.ANSWER, []
        options = self.options(ranking)
        if not options:
            return Decision.ANSWER, []
        return Decision.CLARIFY, options


def typed_view(module: PolicyModule) -> ClarificationPolicy | None:
    """The checked view of ``clarification``, or None for any other module.

    Raises:
        ConfigurationError: the module breaks a rule its schema cannot express.
    """
    return ClarificationPolicy(module) if module.name == "clarification" else None


def load_clarification_policy(policies_dir: Path | None = None) -> ClarificationPolicy:
    """Reads and checks ``policies/clarification.yml``.

    Raises:
        ConfigurationError: the file is missing or invalid.
    """
    return ClarificationPolicy(load_policy("clarification", policies_dir))


@cache
def clarification_policy(policies_dir: Path | None = None) -> ClarificationPolicy:
    """The clarification policy, loaded once per process."""
    return load_clarification_policy(policies_dir)

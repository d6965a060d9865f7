"""The consent policy (``policies/consent.yml``): which writes need the customer's "yes".

Each write it names (``cancel_order``, ``return_order``, ...) has the question asked,
what the summary shows and how many turns a "yes" stays valid; ``counts_as_consent``
says which intents, at which confidence, are a "yes". The guardrails check it right
before every backend write (:mod:`frontline.services.guardrails`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from frontline.policy.loading import PolicyView, RuleValue


@dataclass(frozen=True)
class ConsentRule:
    """What counts as the customer's consent to one kind of write."""

    operation: str
    question: str
    subject: str
    max_turns: int


@dataclass(frozen=True)
class ConsentPolicy(PolicyView):
    """Typed view of the consent policy module."""

    consent_intents = RuleValue(frozenset, "counts_as_consent", "intents")

    min_confidence = RuleValue(float, "counts_as_consent", "min_confidence")

    @cached_property
    def operations(self) -> Mapping[str, ConsentRule]:
        return {
            name: ConsentRule(name, spec["question"], spec["subject"], int(spec["max_turns"]))
            for name, spec in self.module.rules["operations"].items()
        }

    def rule_for(self, operation: str) -> ConsentRule | None:
        """The consent rule of ``operation``, or None when it needs no explicit consent."""
        return self.operations.get(operation)

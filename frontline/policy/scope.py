"""The scope policy (``policies/scope.yml``): what the assistant resolves on its own.

``self_service`` lists the intents it handles; ``restrictions`` take some of them away
on some channels or for some customer tiers (a person handles those). Applied on every
message by the escalation dialogue policy and again right before a write.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from frontline.policy.escalation import EscalationRule
from frontline.policy.loading import PolicyView, RuleValue


@dataclass(frozen=True)
class ScopeRestriction:
    """An intent the assistant does not resolve on its own on some channels or tiers."""

    rule_id: str
    intents: frozenset[str]
    channels: frozenset[str]
    tiers: frozenset[str]
    rationale: str

    def applies(self, intent: str, channel: str | None, tier: str | None) -> bool:
        """Whether the restriction covers ``intent`` on ``channel`` for ``tier``.

        A restriction limited to tiers does not apply while the tier is unknown (the
        customer is not verified yet); the check before the write sees the tier.
        """
        if intent not in self.intents:
            return False
        if self.channels and (channel or "") not in self.channels:
            return False
        if self.tiers and (tier or "") not in self.tiers:
            return False
        return True


@dataclass(frozen=True)
class ScopePolicy(PolicyView):
    """Typed view of the scope policy module."""

    self_service = RuleValue(frozenset, "self_service")

    @cached_property
    def restrictions(self) -> tuple[ScopeRestriction, ...]:
        return tuple(
            ScopeRestriction(
                rule_id=spec["id"],
                intents=frozenset(spec["intents"]),
                channels=frozenset(spec.get("channels") or ()),
                tiers=frozenset(spec.get("tiers") or ()),
                rationale=spec["rationale"],
            )
            for spec in self.module.rules["restrictions"]
        )

    def restriction_for(
        self, intent: str | None, channel: str | None, tier: str | None
    ) -> ScopeRestriction | None:
        """The first restriction covering ``intent`` here, or None."""
        if not intent:
            return None
        return next((r for r in self.restrictions if r.applies(intent, channel, tier)), None)

    def rule(self, restriction: ScopeRestriction) -> EscalationRule:
        """The escalation rule for a restriction."""
        return EscalationRule(
            restriction.rule_id, restriction.rationale, self.module.name, self.version
        )

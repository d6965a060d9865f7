"""The escalation rules (``policies/escalation.yml``): when a person takes over.

Verification and fallback limits, handoff priorities and rationales, sensitive topics,
frustration, and the writes the assistant may make (verification, order states, money
limits). :class:`EscalationRules` is the typed view; :class:`EscalationRule` is one
rule that fired, as the ``escalation_rule`` slot, the packet and the audit trail show it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from frontline.policy.loading import (
    PolicyView,
    RuleValue,
    compile_patterns,
    invalid,
    load_policy,
    phrase_pattern,
)
from frontline.vocabulary import PRIORITIES


@dataclass(frozen=True)
class EscalationRule:
    """A rule that hands the conversation to a human, as the packet and audit show it.

    Attributes:
        rule_id: Stable id, e.g. ``sensitive.legal_threat`` or ``consent.cancel_order``.
        rationale: One sentence for the human agent.
        policy: The policy module the rule belongs to.
        version: That module's version.
        priority: The rule's own handoff priority, or None for the reason's default.
        response: A response sent to the customer before the handoff message, or None.
    """

    rule_id: str
    rationale: str
    policy: str
    version: str
    priority: str | None = None
    response: str | None = None

    def as_slot(self) -> dict[str, Any]:
        """The value of the ``escalation_rule`` slot."""
        slot = {
            "id": self.rule_id,
            "rationale": self.rationale,
            "policy": self.policy,
            "version": self.version,
        }
        if self.priority:
            slot["priority"] = self.priority
        if self.response:
            slot["response"] = self.response
        return slot

    @classmethod
    def from_slot(cls, value: Any) -> EscalationRule | None:
        """Reads the ``escalation_rule`` slot (None when unset or malformed)."""
        if not isinstance(value, Mapping) or not value.get("id"):
            return None
        priority = value.get("priority")
        return cls(
            rule_id=str(value["id"]),
            rationale=str(value.get("rationale") or ""),
            policy=str(value.get("policy") or ""),
            version=str(value.get("version") or ""),
            priority=priority if priority in PRIORITIES else None,
            response=value.get("response") or None,
        )


@dataclass(frozen=True)
class SensitiveTopic:
    """A topic a human must handle (legal threats, fraud, chargebacks, self-harm)."""

    rule_id: str
    label: str
    rationale: str
    matcher: re.Pattern[str]
    priority: str | None = None
    response: str | None = None

    def matches(self, text: str) -> str | None:
        """The matched words in ``text``, or None."""
        found = self.matcher.search(text or "")
        return found.group(0) if found else None


@dataclass(frozen=True)
class FrustrationRule:
    """How frustrated a customer seems, and when that hands the conversation off."""

    rule_id: str
    threshold: float
    rationale: str
    window: int
    weights: Mapping[str, float]
    terms: tuple[tuple[re.Pattern[str], float], ...]
    markers: Mapping[str, float]
    intents: Mapping[str, float]
    priority: str | None = None


@dataclass(frozen=True)
class MoneyLimit:
    """Amount above which a human approves a write."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class WriteRule:
    """A backend write the assistant may make on its own, and its conditions."""

    operation: str
    intent: str
    requires_verification: bool
    allowed_states: tuple[str, ...] | None = None
    money_limit: MoneyLimit | None = None


@dataclass(frozen=True)
class EscalationRules(PolicyView):
    """Typed view of the escalation policy module (``policies/escalation.yml``).

    The rules themselves; the Rasa dialogue policy that applies them on every message is
    :class:`frontline.dialogue.escalation_policy.EscalationDialoguePolicy`.
    """

    def __post_init__(self) -> None:
        # Build (and so check) everything derived once, so a broken file fails at load.
        if self.fallback_offer_human_after > self.fallback_handoff_after:
            raise invalid(
                self.module, "fallback", "offer_human_after must not exceed handoff_after"
            )
        ids = [topic.rule_id for topic in self.sensitive_topics] + [self.frustration.rule_id]
        duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
        if duplicates:
            raise invalid(self.module, "sensitive_topics", f"duplicate ids {duplicates}")
        for topic in self.sensitive_topics:
            if topic.matcher is None:
                raise invalid(self.module, topic.rule_id, "needs keywords or patterns")
        _ = self.writes

    max_verification_attempts = RuleValue(int, "verification", "max_attempts")

    fallback_offer_human_after = RuleValue(int, "fallback", "offer_human_after")

    fallback_handoff_after = RuleValue(int, "fallback", "handoff_after")

    def priority(self, reason_code: str, tier: str | None, rule_priority: str | None = None) -> str:
        """Priority of a handoff for ``reason_code``, raised one step for boosted tiers.

        Args:
            reason_code: Why the conversation is handed off.
            tier: The verified customer's tier, if known.
            rule_priority: The priority of the rule that fired, if it sets one; it
                replaces the reason's default before the tier boost.
        """
        rules = self.module.rules["priority"]
        base = rule_priority or rules["by_reason"].get(reason_code, "normal")
        index = PRIORITIES.index(base)
        if tier and tier in rules["tier_boost"]:
            index = min(index + 1, len(PRIORITIES) - 1)
        return PRIORITIES[index]

    def expected_wait(self, priority: str) -> str:
        """What the customer is told about waiting for a human at ``priority``."""
        return str(self.module.rules["expected_wait"][priority])

    def reason_rationale(self, reason_code: str) -> str:
        """The rationale the agent reads for ``reason_code`` (``policy``'s if unknown)."""
        reasons = self.module.rules["reasons"]
        template = reasons.get(reason_code, reasons["policy"])
        return template.format(
            max_attempts=self.max_verification_attempts,
            handoff_after=self.fallback_handoff_after,
        )

    @cached_property
    def sensitive_topics(self) -> tuple[SensitiveTopic, ...]:
        topics = []
        for index, spec in enumerate(self.module.rules["sensitive_topics"]):
            patterns = [phrase_pattern(k) for k in spec["keywords"]] + list(spec["patterns"])
            matcher = compile_patterns(self.module, f"sensitive_topics/{index}", patterns)
            topics.append(
                SensitiveTopic(
                    rule_id=spec["id"],
                    label=spec["label"],
                    rationale=spec["rationale"],
                    matcher=matcher,  # type: ignore[arg-type]  # checked in __post_init__
                    priority=spec.get("priority"),
                    response=spec.get("response"),
                )
            )
        return tuple(topics)

    @cached_property
    def frustration(self) -> FrustrationRule:
        spec = self.module.rules["frustration"]
        lexicon = spec["lexicon"]
        terms = []
        for term, weight in lexicon["terms"].items():
            matcher = compile_patterns(
                self.module, f"frustration/lexicon/{term}", [phrase_pattern(term)]
            )
            terms.append((matcher, float(weight)))
        try:
            spec["rationale"].format(score=1.0, threshold=1.0)
        except (KeyError, IndexError, ValueError) as exc:
            raise invalid(self.module, "frustration/rationale", f"bad placeholder {exc}") from exc
        return FrustrationRule(
            rule_id=spec["rule_id"],
            threshold=float(spec["threshold"]),
            rationale=spec["rationale"],
            window=int(spec["window"]),
            weights={k: float(v) for k, v in spec["weights"].items()},
            terms=tuple(terms),  # type: ignore[arg-type]  # one pattern each, never None
            markers={k: float(v) for k, v in lexicon["markers"].items()},
            intents={k: float(v) for k, v in lexicon["intents"].items()},
            priority=spec.get("priority"),
        )

    @cached_property
    def writes(self) -> Mapping[str, WriteRule]:
        writes = {}
        for operation, spec in self.module.rules["writes"].items():
            limit = spec.get("money_limit")
            states = spec.get("allowed_states")
            writes[operation] = WriteRule(
                operation=operation,
                intent=spec["intent"],
                requires_verification=bool(spec["requires_verification"]),
                allowed_states=tuple(states) if states else None,
                money_limit=(
                    MoneyLimit(Decimal(limit["amount"]), limit["currency"]) if limit else None
                ),
            )
        return writes

    def topic_rule(self, topic: SensitiveTopic) -> EscalationRule:
        """The escalation rule for a sensitive topic."""
        return EscalationRule(
            topic.rule_id,
            topic.rationale,
            self.module.name,
            self.version,
            topic.priority,
            topic.response,
        )

    def frustration_rule(self, score: float) -> EscalationRule:
        """The escalation rule for frustration at ``score``."""
        rule = self.frustration
        rationale = rule.rationale.format(score=score, threshold=rule.threshold)
        return EscalationRule(
            rule.rule_id, rationale, self.module.name, self.version, rule.priority
        )


@cache
def escalation_rules(policies_dir: Path | None = None) -> EscalationRules:
    """The escalation rules, loaded once per process."""
    return EscalationRules(load_policy("escalation", policies_dir))

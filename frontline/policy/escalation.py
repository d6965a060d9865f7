"""The escalation rules (``policies/escalation.yml``): when a person takes over.

Verification and fallback limits, handoff priorities and rationales, sensitive topics,
frustration, and the writes the assistant may make (verification, order states, money
limits). :class:`EscalationRules` is the typed view; :class:`EscalationRule` is one
rule that fired, as the ``escalation_rule`` slot, the packet and the audit trail show it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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
from frontline.vocabulary import PRIORITIES, REASONS, Reason


def urgency(priority: str | None) -> int:
    """0 for ``urgent`` up to 3 for ``low``; no priority ranks as ``normal``."""
    return PRIORITIES[::-1].index(priority if priority in PRIORITIES else "normal")


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
        reason: The handoff reason code the rule hands off with (``legal``, ``fraud``,
            ``frustration``...); ``policy`` for rules without one of their own.
    """

    rule_id: str
    rationale: str
    policy: str
    version: str
    priority: str | None = None
    response: str | None = None
    reason: str = Reason.POLICY

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
    """A topic a human must handle (legal threats, fraud, chargebacks, self-harm,
    complaints).

    Attributes:
        reason: The handoff reason code (``legal``, ``fraud``...).
        intents: Trained intents that name the topic (see :class:`IntentSignals`).
    """

    rule_id: str
    label: str
    rationale: str
    matcher: re.Pattern[str]
    priority: str | None = None
    response: str | None = None
    reason: str = Reason.POLICY
    intents: frozenset[str] = frozenset()

    @property
    def rank(self) -> int:
        """0 for an urgent topic up to 3 for a low one (see :func:`urgency`)."""
        return urgency(self.priority)

    def matches(self, text: str) -> str | None:
        """The matched words in ``text``, or None."""
        found = self.matcher.search(text or "")
        return found.group(0) if found else None


@dataclass(frozen=True)
class IntentSignals:
    """When the NLU's ranking names a sensitive topic's intent.

    The best intent with at least ``min_confidence``, or the runner-up with at least
    ``runner_up_min_confidence`` and within ``runner_up_max_gap`` of the best.
    """

    min_confidence: float
    runner_up_min_confidence: float
    runner_up_max_gap: float


@dataclass(frozen=True)
class FrustrationRule:
    """How frustrated a customer seems, and when that hands the conversation off.

    Attributes:
        detect_threshold: From this score on the customer counts as frustrated (no
            small talk, no jokes), below the handoff ``threshold``.
        capitals: ``min_share`` and ``min_letters`` of a shouted message.
        recontact: Phrases saying the customer is writing or waiting again.
        no_small_talk: Intents answered with ``no_small_talk_response`` once frustrated.
    """

    rule_id: str
    threshold: float
    rationale: str
    window: int
    weights: Mapping[str, float]
    terms: tuple[tuple[re.Pattern[str], float], ...]
    markers: Mapping[str, float]
    intents: Mapping[str, float]
    priority: str | None = None
    reason: str = Reason.FRUSTRATION
    detect_threshold: float = 1.0
    capitals: Mapping[str, float] = field(default_factory=dict)
    recontact: re.Pattern[str] | None = None
    no_small_talk: frozenset[str] = frozenset()
    no_small_talk_response: str | None = None


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
            try:
                topic.rationale.format(summary="")
            except (KeyError, IndexError, ValueError) as exc:
                raise invalid(self.module, topic.rule_id, f"bad placeholder {exc}") from exc
        for rule_id, reason in [(t.rule_id, t.reason) for t in self.sensitive_topics] + [
            (self.frustration.rule_id, self.frustration.reason)
        ]:
            if reason not in REASONS:
                raise invalid(self.module, rule_id, f"unknown reason code {reason!r}")
        if self.frustration.detect_threshold > self.frustration.threshold:
            raise invalid(self.module, "frustration", "detect_threshold must not exceed threshold")
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
                    reason=spec["reason"],
                    intents=frozenset(spec.get("intents") or ()),
                )
            )
        return tuple(topics)

    @cached_property
    def intent_signals(self) -> IntentSignals:
        spec = self.module.rules["intent_signals"]
        return IntentSignals(
            min_confidence=float(spec["min_confidence"]),
            runner_up_min_confidence=float(spec["runner_up_min_confidence"]),
            runner_up_max_gap=float(spec["runner_up_max_gap"]),
        )

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
            reason=spec["reason"],
            detect_threshold=float(spec["detect_threshold"]),
            capitals={k: float(v) for k, v in spec["capitals"].items()},
            recontact=compile_patterns(
                self.module, "frustration/recontact", list(spec["recontact"]["patterns"])
            ),
            no_small_talk=frozenset(spec["no_small_talk"]["intents"]),
            no_small_talk_response=spec["no_small_talk"]["response"],
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

    def topic_rule(self, topic: SensitiveTopic, summary: str = "") -> EscalationRule:
        """The escalation rule for a sensitive topic.

        Args:
            topic: The topic that fired.
            summary: The customer's words, masked and on one line, for a rationale
                with a ``{summary}`` placeholder (a complaint's).
        """
        return EscalationRule(
            topic.rule_id,
            topic.rationale.format(summary=summary).strip(),
            self.module.name,
            self.version,
            topic.priority,
            topic.response,
            topic.reason,
        )

    def frustration_rule(self, score: float) -> EscalationRule:
        """The escalation rule for frustration at ``score``."""
        rule = self.frustration
        rationale = rule.rationale.format(score=score, threshold=rule.threshold)
        return EscalationRule(
            rule.rule_id,
            rationale,
            self.module.name,
            self.version,
            rule.priority,
            reason=rule.reason,
        )


@cache
def escalation_rules(policies_dir: Path | None = None) -> EscalationRules:
    """The escalation rules, loaded once per process."""
    return EscalationRules(load_policy("escalation", policies_dir))

"""Loads the policy-as-code modules in ``policies/`` and answers questions about them.

Each module is a YAML file with a ``policy`` name, a semantic ``version`` and an
``owner``, validated against ``policies/schemas/<name>.schema.json``, then checked for
what a schema cannot say (regular expressions compile, thresholds are in order, every
consent rule names a declared write). An invalid module raises ``ConfigurationError``:
the action server and the Rasa server refuse to start with it.

Modules and their typed views:

* ``escalation`` (:class:`EscalationPolicy`): verification and fallback limits, handoff
  priorities and rationales, sensitive topics, frustration, and the writes the
  assistant may make (verification, order states, money limits).
* ``consent`` (:class:`ConsentPolicy`): which writes need explicit consent and what
  counts as consent.
* ``scope`` (:class:`ScopePolicy`): which intents the assistant resolves on its own,
  per channel and customer tier.
* ``data_handling`` (:class:`DataHandlingPolicy`): which personal fields are masked in
  which place (logs, packets, audit records, exports).

:func:`policies` loads all four once per process (from ``settings.policies_dir``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from frontline.errors import ConfigurationError
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

PRIORITIES = ("low", "normal", "high", "urgent")
PLACES = ("logs", "packets", "audit", "exports")
TREATMENTS = ("keep", "mask", "hash", "drop")
MODULE_NAMES = ("escalation", "consent", "scope", "data_handling")


@dataclass(frozen=True)
class PolicyModule:
    """One validated policy file."""

    name: str
    version: str
    owner: str
    rules: dict[str, Any]
    path: Path


def load_policy(name: str, policies_dir: Path | None = None) -> PolicyModule:
    """Reads and validates ``<policies_dir>/<name>.yml`` against its schema.

    Raises:
        ConfigurationError: the file is missing, is not YAML or breaks its schema.
    """
    directory = policies_dir or get_settings().policies_dir
    path = directory / f"{name}.yml"
    schema_path = directory / "schemas" / f"{name}.schema.json"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"cannot read policy '{name}': {exc}") from exc
    try:
        jsonschema.validate(document, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "<root>"
        raise ConfigurationError(f"policy '{name}' is invalid at {where}: {exc.message}") from exc
    logger.info("Loaded policy %s %s (owner %s)", name, document["version"], document["owner"])
    return PolicyModule(
        name=name,
        version=document["version"],
        owner=document["owner"],
        rules=document["rules"],
        path=path,
    )


def _invalid(module: PolicyModule, where: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"policy '{module.name}' is invalid at rules/{where}: {problem}")


def phrase_pattern(phrase: str) -> str:
    """A regular expression matching ``phrase`` as whole words, any whitespace between."""
    words = [re.escape(word) for word in phrase.lower().split()]
    return r"(?<![\w])" + r"\s+".join(words) + r"(?![\w])"


def _compile(module: PolicyModule, where: str, patterns: list[str]) -> re.Pattern[str] | None:
    """One case-insensitive alternation of ``patterns`` (None when there are none)."""
    if not patterns:
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    except re.error as exc:
        raise _invalid(module, where, f"bad regular expression: {exc}") from exc


# -- escalation ------------------------------------------------------------------


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
class EscalationPolicy:
    """Typed view of the escalation policy module."""

    module: PolicyModule

    def __post_init__(self) -> None:
        # Build (and so check) everything derived once, so a broken file fails at load.
        if self.fallback_offer_human_after > self.fallback_handoff_after:
            raise _invalid(
                self.module, "fallback", "offer_human_after must not exceed handoff_after"
            )
        ids = [topic.rule_id for topic in self.sensitive_topics] + [self.frustration.rule_id]
        duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
        if duplicates:
            raise _invalid(self.module, "sensitive_topics", f"duplicate ids {duplicates}")
        for topic in self.sensitive_topics:
            if topic.matcher is None:
                raise _invalid(self.module, topic.rule_id, "needs keywords or patterns")
        _ = self.writes

    @property
    def version(self) -> str:
        return self.module.version

    @property
    def max_verification_attempts(self) -> int:
        return int(self.module.rules["verification"]["max_attempts"])

    @property
    def fallback_offer_human_after(self) -> int:
        return int(self.module.rules["fallback"]["offer_human_after"])

    @property
    def fallback_handoff_after(self) -> int:
        return int(self.module.rules["fallback"]["handoff_after"])

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
            matcher = _compile(self.module, f"sensitive_topics/{index}", patterns)
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
            matcher = _compile(self.module, f"frustration/lexicon/{term}", [phrase_pattern(term)])
            terms.append((matcher, float(weight)))
        try:
            spec["rationale"].format(score=1.0, threshold=1.0)
        except (KeyError, IndexError, ValueError) as exc:
            raise _invalid(self.module, "frustration/rationale", f"bad placeholder {exc}") from exc
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


# -- consent ---------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentRule:
    """What counts as the customer's consent to one kind of write."""

    operation: str
    question: str
    subject: str
    max_turns: int


@dataclass(frozen=True)
class ConsentPolicy:
    """Typed view of the consent policy module."""

    module: PolicyModule

    @property
    def version(self) -> str:
        return self.module.version

    @property
    def consent_intents(self) -> frozenset[str]:
        return frozenset(self.module.rules["counts_as_consent"]["intents"])

    @property
    def min_confidence(self) -> float:
        return float(self.module.rules["counts_as_consent"]["min_confidence"])

    @cached_property
    def operations(self) -> Mapping[str, ConsentRule]:
        return {
            name: ConsentRule(name, spec["question"], spec["subject"], int(spec["max_turns"]))
            for name, spec in self.module.rules["operations"].items()
        }

    def rule_for(self, operation: str) -> ConsentRule | None:
        """The consent rule of ``operation``, or None when it needs no explicit consent."""
        return self.operations.get(operation)


# -- scope -----------------------------------------------------------------------


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
class ScopePolicy:
    """Typed view of the scope policy module."""

    module: PolicyModule

    @property
    def version(self) -> str:
        return self.module.version

    @property
    def self_service(self) -> frozenset[str]:
        return frozenset(self.module.rules["self_service"])

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


# -- data handling ---------------------------------------------------------------


@dataclass(frozen=True)
class FieldHandling:
    """How one personal field is masked, and what each place does with it."""

    name: str
    masker: str
    keys: frozenset[str]
    places: Mapping[str, str]


@dataclass(frozen=True)
class DataHandlingPolicy:
    """Typed view of the data-handling policy module."""

    module: PolicyModule
    _by_key: dict[str, FieldHandling] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key: dict[str, FieldHandling] = {}
        for name, spec in self.module.rules["fields"].items():
            handling = FieldHandling(name, spec["masker"], frozenset(spec["keys"]), spec["places"])
            for key in handling.keys:
                if key in by_key:
                    raise _invalid(
                        self.module, f"fields/{name}/keys", f"'{key}' is also in {by_key[key].name}"
                    )
                by_key[key] = handling
        # The packet schema only accepts masked contact details.
        for name in ("email", "phone"):
            handling = self.module.rules["fields"].get(name)
            if handling and handling["places"]["packets"] not in ("mask", "drop"):
                raise _invalid(
                    self.module,
                    f"fields/{name}/places/packets",
                    "handoff packets accept only masked or dropped contact details",
                )
        object.__setattr__(self, "_by_key", by_key)

    @property
    def version(self) -> str:
        return self.module.version

    @cached_property
    def fields(self) -> Mapping[str, FieldHandling]:
        return {handling.name: handling for handling in self._by_key.values()}

    def field_for_key(self, key: str) -> FieldHandling | None:
        """The personal field held under ``key`` (a slot, entity or record key), or None."""
        return self._by_key.get(key.lower())

    def treatment(self, place: str, field_name: str) -> str:
        """What ``place`` does with ``field_name``: keep, mask, hash or drop.

        Raises:
            ValueError: ``place`` is not one of :data:`PLACES`.
        """
        if place not in PLACES:
            raise ValueError(f"unknown place {place!r}; expected one of {', '.join(PLACES)}")
        handling = self.fields.get(field_name)
        return handling.places[place] if handling else "keep"


# -- all of them -----------------------------------------------------------------


@dataclass(frozen=True)
class Policies:
    """Every policy module, validated together."""

    escalation: EscalationPolicy
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
        return {
            "escalation": self.escalation.version,
            "consent": self.consent.version,
            "scope": self.scope.version,
            "data_handling": self.data_handling.version,
        }


def load_policies(policies_dir: Path | None = None) -> Policies:
    """Loads and cross-checks every policy module.

    Raises:
        ConfigurationError: any module is missing or invalid.
    """
    return Policies(
        escalation=EscalationPolicy(load_policy("escalation", policies_dir)),
        consent=ConsentPolicy(load_policy("consent", policies_dir)),
        scope=ScopePolicy(load_policy("scope", policies_dir)),
        data_handling=DataHandlingPolicy(load_policy("data_handling", policies_dir)),
    )


@cache
def policies(policies_dir: Path | None = None) -> Policies:
    """Every policy module, loaded once per process."""
    return load_policies(policies_dir)


@cache
def escalation_policy(policies_dir: Path | None = None) -> EscalationPolicy:
    """The escalation policy, loaded once per process."""
    return EscalationPolicy(load_policy("escalation", policies_dir))


def typed_view(module: PolicyModule) -> object | None:
    """The typed view of a module with semantic checks, or None for modules without one.

    Raises:
        ConfigurationError: the module breaks a rule its schema cannot express.
    """
    views = {
        "escalation": EscalationPolicy,
        "consent": ConsentPolicy,
        "scope": ScopePolicy,
        "data_handling": DataHandlingPolicy,
        "returns": ReturnsPolicy,
    }
    if module.name == "clarification":
        from frontline.nlu.clarification_policy import ClarificationPolicy

        return ClarificationPolicy(module)
    view = views.get(module.name)
    return view(module) if view else None  # type: ignore[abstract]


# -- returns (issue 3A: frontline/services/returns.py reads it) -------------------


@dataclass(frozen=True)
class ReturnsPolicy:
    """Typed view of the returns policy module (``policies/returns.yml``)."""

    module: PolicyModule

    @property
    def version(self) -> str:
        return self.module.version

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

"""The typed view of ``policies/flags.yml``: flag definitions, their rules, the kill switch.

:class:`FlagsPolicy` is built from the validated module (:func:`frontline.policy.load_policy`)
and checks what the schema cannot say (a ``write.*`` flag names an operation, a
``contact.*`` flag lists intents, no intent in two contact flags, rule ids unique, the kill
switch's default responses among its responses). :func:`cross_check` compares it with the
other modules: every write the escalation policy declares has a flag and every contact
intent is self-service in the scope policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from frontline.errors import ConfigurationError
from frontline.policy.loading import PolicyModule, PolicyView, load_policy

if TYPE_CHECKING:  # the policy registry's module imports nothing of ours; keep it that way
    from frontline.policy.registry import Policies

MODULE_NAME = "flags"
#: The policy modules this package reads (``python -m frontline.policy_check`` requires them).
MODULE_NAMES = (MODULE_NAME,)
WRITE_PREFIX = "write."
CONTACT_PREFIX = "contact."
#: The kill switch's modes: ``writes`` refuses every autonomous write, ``messages``
#: hands every new customer message to a person (and refuses writes too).
KILL_SWITCH_OFF = "off"
KILL_SWITCH_WRITES = "writes"
KILL_SWITCH_MESSAGES = "messages"
KILL_SWITCH_MODES = (KILL_SWITCH_OFF, KILL_SWITCH_WRITES, KILL_SWITCH_MESSAGES)
#: The key under which the kill switch is read through OpenFeature (a string flag).
KILL_SWITCH_KEY = "kill_switch"


@dataclass(frozen=True)
class Segment:
    """Who a rule or an override applies to: channels, tiers and a sticky percentage.

    An empty ``channels`` or ``tiers`` means any; ``percentage`` None means everyone.
    """

    channels: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    percentage: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "channels": sorted(self.channels),
            "tiers": sorted(self.tiers),
            "percentage": self.percentage,
        }

    def describe(self) -> str:
        """``slack, gold tier, 10% of customers``; ``everyone`` for an empty segment."""
        parts = []
        if self.channels:
            parts.append(", ".join(sorted(self.channels)))
        if self.tiers:
            parts.append(", ".join(sorted(self.tiers)) + " tier")
        if self.percentage is not None:
            parts.append(f"{self.percentage:g}% of customers")
        return ", ".join(parts) or "everyone"


@dataclass(frozen=True)
class FlagRule:
    """One rule of a flag in the file: in this segment the flag is ``value``."""

    rule_id: str
    segment: Segment
    value: bool


@dataclass(frozen=True)
class FlagDefinition:
    """One flag of ``policies/flags.yml``.

    Attributes:
        key: ``write.cancel_order``, ``contact.returns``, ...
        description: What the assistant does on its own while the flag is on.
        default: The value when no rule matches.
        rules: The file's rules, in order (the first match wins).
        bucket: The salt of the sticky percentage (two flags with the same bucket put
            every customer on the same side of the same percentage).
        operation: The backend write a ``write.*`` flag gates.
        intents: The intents that start a ``contact.*`` flag's contact type.
    """

    key: str
    description: str
    default: bool
    rules: tuple[FlagRule, ...]
    bucket: str
    operation: str | None = None
    intents: frozenset[str] = frozenset()

    @property
    def is_write(self) -> bool:
        return self.key.startswith(WRITE_PREFIX)


@dataclass(frozen=True)
class FlagsPolicy(PolicyView):
    """Typed view of the flags policy module."""

    def __post_init__(self) -> None:
        # Build (and so check) everything derived once, so a broken file fails at load.
        _ = self.flags, self.by_operation, self.by_intent
        for where, template, fields in (
            (
                "capability_off/rationale",
                self.module.rules["capability_off"]["rationale"],
                {"description": ""},
            ),
            (
                "kill_switch/rationale/writes",
                self.module.rules["kill_switch"]["rationale"]["writes"],
                {"reason": ""},
            ),
            (
                "kill_switch/rationale/messages",
                self.module.rules["kill_switch"]["rationale"]["messages"],
                {"reason": ""},
            ),
        ):
            try:
                template.format(**fields)
            except (KeyError, IndexError, ValueError) as exc:
                raise self._invalid(where, f"bad placeholder {exc}") from exc
        responses = self.kill_switch_responses
        for mode, response in self.module.rules["kill_switch"]["default_response"].items():
            if response not in responses:
                raise self._invalid(
                    f"kill_switch/default_response/{mode}",
                    f"{response} is not among kill_switch/responses",
                )

    def _invalid(self, where: str, problem: str) -> ConfigurationError:
        return ConfigurationError(
            f"policy '{self.module.name}' is invalid at rules/{where}: {problem}"
        )

    @property
    def capability_off_response(self) -> str:
        return str(self.module.rules["capability_off"]["response"])

    def capability_off_rationale(self, flag: FlagDefinition) -> str:
        """What the agent reads when ``flag`` sent the conversation to a person."""
        template = self.module.rules["capability_off"]["rationale"]
        return str(template.format(description=flag.description))

    def kill_switch_rationale(self, mode: str, reason: str | None) -> str:
        """What the agent reads when the kill switch in ``mode`` sent it to a person."""
        template = self.module.rules["kill_switch"]["rationale"][mode]
        return str(template.format(reason=reason or "no reason given"))

    @property
    def kill_switch_responses(self) -> tuple[str, ...]:
        return tuple(self.module.rules["kill_switch"]["responses"])

    def kill_switch_default_response(self, mode: str) -> str | None:
        """The response sent in ``mode`` unless the operator picked another (None: off)."""
        return self.module.rules["kill_switch"]["default_response"].get(mode)

    @property
    def redis_ttl_seconds(self) -> float:
        return float(self.module.rules["store"]["redis_ttl_seconds"])

    @property
    def max_stale_seconds(self) -> float:
        return float(self.module.rules["store"]["max_stale_seconds"])

    @cached_property
    def flags(self) -> Mapping[str, FlagDefinition]:
        flags = {}
        for key, spec in self.module.rules["flags"].items():
            is_write = key.startswith(WRITE_PREFIX)
            if is_write and "operation" not in spec:
                raise self._invalid(f"flags/{key}", "a write flag names its `operation`")
            if not is_write and "intents" not in spec:
                raise self._invalid(f"flags/{key}", "a contact flag lists its `intents`")
            ids = [rule["id"] for rule in spec["rules"]]
            duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
            if duplicates:
                raise self._invalid(f"flags/{key}/rules", f"duplicate rule ids {duplicates}")
            flags[key] = FlagDefinition(
                key=key,
                description=spec["description"],
                default=bool(spec["default"]),
                rules=tuple(
                    FlagRule(
                        rule_id=rule["id"],
                        segment=Segment(
                            channels=frozenset(rule.get("channels") or ()),
                            tiers=frozenset(rule.get("tiers") or ()),
                            percentage=rule.get("percentage"),
                        ),
                        value=bool(rule["value"]),
                    )
                    for rule in spec["rules"]
                ),
                bucket=spec.get("bucket") or key,
                operation=spec.get("operation"),
                intents=frozenset(spec.get("intents") or ()),
            )
        return flags

    @cached_property
    def by_operation(self) -> Mapping[str, FlagDefinition]:
        """The ``write.*`` flag of each backend write."""
        found: dict[str, FlagDefinition] = {}
        for flag in self.flags.values():
            if flag.operation is None:
                continue
            if flag.operation in found:
                raise self._invalid(
                    f"flags/{flag.key}/operation",
                    f"{flag.operation} is also gated by {found[flag.operation].key}",
                )
            found[flag.operation] = flag
        return found

    @cached_property
    def by_intent(self) -> Mapping[str, FlagDefinition]:
        """The ``contact.*`` flag of each contact intent."""
        found: dict[str, FlagDefinition] = {}
        for flag in self.flags.values():
            for intent in sorted(flag.intents):
                if intent in found:
                    raise self._invalid(
                        f"flags/{flag.key}/intents", f"{intent} is also in {found[intent].key}"
                    )
                found[intent] = flag
        return found

    def flag(self, key: str) -> FlagDefinition | None:
        return self.flags.get(key)


def cross_check(flags: FlagsPolicy, rules: Policies) -> list[str]:
    """What the flags disagree on with the other modules (empty when they agree)."""
    problems = []
    declared = set(rules.escalation.writes)
    gated = set(flags.by_operation)
    for operation in sorted(gated - declared):
        problems.append(
            f"policy 'flags' gates {operation}, which policy 'escalation' does not declare "
            "(writes)"
        )
    for operation in sorted(declared - gated):
        problems.append(f"policy 'flags' has no write.* flag for the write {operation}")
    for intent in sorted(set(flags.by_intent) - rules.scope.self_service):
        problems.append(
            f"policy 'flags' has a contact flag for {intent}, which policy 'scope' does not "
            "list as self-service"
        )
    return problems


def typed_view(module: PolicyModule) -> FlagsPolicy | None:
    """The checked view of the flags module (None for any other module).

    Raises:
        ConfigurationError: The module breaks a rule its schema cannot express.
    """
    return FlagsPolicy(module) if module.name == MODULE_NAME else None


def load_flags_policy(policies_dir: Path | None = None) -> FlagsPolicy:
    """Reads and checks ``<policies_dir>/flags.yml``.

    Raises:
        ConfigurationError: the file is missing or invalid.
    """
    return FlagsPolicy(load_policy(MODULE_NAME, policies_dir))


@cache
def flags_policy(policies_dir: Path | None = None) -> FlagsPolicy:
    """The flags policy, loaded once per process."""
    return load_flags_policy(policies_dir)

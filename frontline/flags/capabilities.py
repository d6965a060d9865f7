"""May the assistant do this, for this customer, now? One answer with its evidence.

:class:`FlagCapabilityProvider` is what the write path's guard and the dialogue's
control policy ask (:class:`CapabilityProvider` is the protocol they depend on). Its
:class:`Evaluation` carries everything the audit trail records with the decision (flag
key, variant, reason, the rule that decided, the targeting key hashed, versions) and, when
the capability is off, everything the handoff needs: the reason code
(``capability_off``, ``kill_switch``, or ``dependency_down`` when the flags could not be
read), the rule slot with its rationale and the response the customer is sent first.

Defaults when the flags cannot be read: writes are refused (fail closed), conversations go
on (fail open), the kill switch counts as off.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from openfeature.client import OpenFeatureClient
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagEvaluationDetails

from frontline.flags.definitions import (
    KILL_SWITCH_KEY,
    KILL_SWITCH_MESSAGES,
    KILL_SWITCH_OFF,
    KILL_SWITCH_WRITES,
    WRITE_PREFIX,
    FlagsPolicy,
    flags_policy,
)
from frontline.flags.evaluation import REASON_ERROR, FlagContext
from frontline.flags.provider import FrontlineFlagProvider, flag_client, to_evaluation_context
from frontline.policy.escalation import EscalationRule
from frontline.vocabulary import Reason, Slot

logger = logging.getLogger(__name__)

#: Handoff reason codes (the shared vocabulary's).
CAPABILITY_OFF = Reason.CAPABILITY_OFF
KILL_SWITCH = Reason.KILL_SWITCH
DEPENDENCY_DOWN = Reason.DEPENDENCY_DOWN
#: The ``policy`` named by the rules this package hands off with.
POLICY_NAME = "flags"
#: Key of the evaluations in the metadata of an action a flag decided (decision records).
METADATA_KEY = "frontline_flags"


@dataclass(frozen=True)
class Evaluation:
    """One flag evaluated for one conversation.

    Attributes:
        flag_key: ``write.cancel_order``, ``contact.returns``, ``kill_switch``.
        enabled: Whether the assistant may go on (for ``kill_switch``: it is off).
        variant: ``on``/``off`` (``kill_switch``: its mode), None on an error.
        reason: OpenFeature's reason (``STATIC``, ``DEFAULT``, ``TARGETING_MATCH``,
            ``SPLIT``, ``DISABLED``, ``STALE``, ``ERROR``).
        rule: What decided: ``flags.yml:<id>``, ``override:<id>``, ``kill_switch:<mode>``.
        targeting_key_hash: The customer (or conversation) the flag was evaluated for,
            hashed.
        flags_version: The version of ``policies/flags.yml``.
        store_version: The change counter of overrides and kill switch seen.
        error: Why the flag could not be evaluated.
        error_code: OpenFeature's error code.
        response: What the customer is sent before the handoff message (when off).
        rationale: What the agent reads in the handoff packet (when off).
    """

    flag_key: str
    enabled: bool
    variant: str | None
    reason: str
    rule: str | None = None
    targeting_key_hash: str | None = None
    flags_version: str | None = None
    store_version: int | None = None
    error: str | None = None
    error_code: str | None = None
    response: str | None = None
    rationale: str = ""

    @property
    def handoff_reason(self) -> str | None:
        """The reason code to hand off with (None when enabled)."""
        if self.enabled:
            return None
        if self.flag_key == KILL_SWITCH_KEY or (self.rule or "").startswith("kill_switch:"):
            return KILL_SWITCH
        if self.reason == REASON_ERROR and self.error_code != ErrorCode.FLAG_NOT_FOUND:
            return DEPENDENCY_DOWN
        return CAPABILITY_OFF

    @property
    def kill_switch_mode(self) -> str | None:
        """The kill switch's mode when it decided this evaluation (None otherwise)."""
        if self.flag_key == KILL_SWITCH_KEY:
            return self.variant
        if (self.rule or "").startswith("kill_switch:"):
            return (self.rule or "").split(":", 1)[1]
        return None

    def as_record(self) -> dict[str, Any]:
        """The evaluation as the audit trail records it."""
        record: dict[str, Any] = {
            "flag": self.flag_key,
            "variant": self.variant,
            "enabled": self.enabled,
            "reason": self.reason,
            "rule": self.rule,
            "targeting_key_hash": self.targeting_key_hash,
            "flags_version": self.flags_version,
            "store_version": self.store_version,
        }
        if self.error:
            record["error"] = self.error[:200]
        return record

    def escalation_rule(self) -> EscalationRule | None:
        """The rule to hand off with (None when enabled)."""
        code = self.handoff_reason
        if code is None:
            return None
        if code == KILL_SWITCH:
            rule_id = f"flags.kill_switch.{self.kill_switch_mode}"
        else:
            rule_id = f"flags.{self.flag_key}"
        return EscalationRule(
            rule_id=rule_id,
            rationale=self.rationale[:300],
            policy=POLICY_NAME,
            version=self.flags_version or "",
            response=self.response,
        )

    def refusal_slots(self) -> dict[str, Any]:
        """Slots that send the conversation to a person (empty when enabled)."""
        rule = self.escalation_rule()
        if rule is None:
            return {}
        return {Slot.HANDOFF_REASON: self.handoff_reason, Slot.ESCALATION_RULE: rule.as_slot()}


class CapabilityProvider(Protocol):
    """What the write path's guard depends on."""

    def is_enabled(self, capability: str, context: FlagContext) -> Evaluation:
        """Whether the assistant may use ``capability`` (a write operation such as
        ``cancel_order``, or a flag key) for ``context``."""
        ...


class FlagCapabilityProvider:
    """Capabilities from feature flags, evaluated through OpenFeature.

    Args:
        client: The OpenFeature client (default: :func:`frontline.flags.provider.flag_client`).
        policy: The flag definitions (default: the process's ``policies/flags.yml``).
        write_intents: For each intent, the writes its flow makes (default: from the
            escalation policy's ``writes``); the control policy checks them on a new message.
    """

    def __init__(
        self,
        client: OpenFeatureClient | None = None,
        policy: FlagsPolicy | None = None,
        write_intents: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._client = client
        self.policy = policy or flags_policy()
        if write_intents is None:
            from frontline.policy.registry import policies

            found: dict[str, list[str]] = {}
            for operation, write in policies().escalation.writes.items():
                found.setdefault(write.intent, []).append(operation)
            write_intents = {intent: tuple(ops) for intent, ops in found.items()}
        self.write_intents = write_intents

    @property
    def client(self) -> OpenFeatureClient:
        if self._client is None:
            self._client = flag_client()  # registers our provider on first use
        return self._client

    @contextlib.contextmanager
    def consistent_view(self) -> Iterator[None]:
        """Every evaluation in the block sees one view of overrides and the kill switch
        (one read of the change counter). A no-op for a provider other than ours."""
        provider = self.client.provider
        if isinstance(provider, FrontlineFlagProvider):
            with provider.state.consistent_view():
                yield
        else:
            yield

    def flag_key(self, capability: str) -> str:
        """``cancel_order`` -> ``write.cancel_order``; a flag key stays as it is."""
        flag = self.policy.by_operation.get(capability)
        return flag.key if flag else capability

    def is_enabled(self, capability: str, context: FlagContext) -> Evaluation:
        """Evaluates the capability's flag; a write's flag fails closed, others open."""
        key = self.flag_key(capability)
        default = not key.startswith(WRITE_PREFIX)
        details = self.client.get_boolean_details(key, default, to_evaluation_context(context))
        evaluation = self._evaluation(details, bool(details.value))
        if evaluation.enabled:
            return evaluation
        if evaluation.handoff_reason == KILL_SWITCH:
            return self._with_kill_switch_words(evaluation, context)
        flag = self.policy.flag(key)
        rationale = (
            self.policy.capability_off_rationale(flag)
            if flag
            else f"The flags could not say whether the assistant may {capability}."
        )
        return replace(
            evaluation, response=self.policy.capability_off_response, rationale=rationale
        )

    def kill_switch(self, context: FlagContext) -> Evaluation:
        """The kill switch; ``enabled`` is False while it hands every message to a person."""
        details = self.client.get_string_details(
            KILL_SWITCH_KEY, KILL_SWITCH_OFF, to_evaluation_context(context)
        )
        evaluation = self._evaluation(details, details.value != KILL_SWITCH_MESSAGES)
        if evaluation.enabled:
            return evaluation
        return self._with_kill_switch_words(evaluation, context, details)

    def for_intent(self, intent: str, context: FlagContext) -> list[Evaluation]:
        """The flags a message with ``intent`` needs on: its contact type's, and those of
        the writes its flow makes (empty for an intent no flag covers)."""
        keys = []
        contact = self.policy.by_intent.get(intent)
        if contact is not None:
            keys.append(contact.key)
        keys += [
            self.policy.by_operation[operation].key
            for operation in self.write_intents.get(intent, ())
            if operation in self.policy.by_operation
        ]
        return [self.is_enabled(key, context) for key in keys]

    def _with_kill_switch_words(
        self,
        evaluation: Evaluation,
        context: FlagContext,
        details: FlagEvaluationDetails[Any] | None = None,
    ) -> Evaluation:
        if details is None:
            details = self.client.get_string_details(
                KILL_SWITCH_KEY, KILL_SWITCH_OFF, to_evaluation_context(context)
            )
        mode = evaluation.kill_switch_mode or KILL_SWITCH_WRITES
        metadata = details.flag_metadata or {}
        response = metadata.get("response") or self.policy.kill_switch_default_response(mode)
        rationale = self.policy.kill_switch_rationale(mode, _text(metadata.get("reason")))
        return replace(evaluation, response=_text(response), rationale=rationale)

    @staticmethod
    def _evaluation(details: FlagEvaluationDetails[Any], enabled: bool) -> Evaluation:
        metadata = details.flag_metadata or {}
        version = metadata.get("store_version")
        return Evaluation(
            flag_key=details.flag_key,
            enabled=enabled,
            variant=details.variant,
            reason=str(details.reason or REASON_ERROR),
            rule=_text(metadata.get("rule")),
            targeting_key_hash=_text(metadata.get("targeting_key_hash")),
            flags_version=_text(metadata.get("flags_version")),
            store_version=int(version) if isinstance(version, int) else None,
            error=details.error_message,
            error_code=str(details.error_code) if details.error_code else None,
        )


def _text(value: Any) -> str | None:
    return str(value) if value else None

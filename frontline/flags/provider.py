"""Our OpenFeature provider: flags from ``policies/flags.yml``, overrides from the database.

Everything that evaluates a flag goes through OpenFeature's client API
(:func:`flag_client`), so a flag server's provider (flagd, a vendor's) can replace this
one by registering itself for the domain :data:`DOMAIN` before the first evaluation; the
rest of Frontline does not change. Evaluation is in-process: no server on a laptop.

* ``write.*`` and ``contact.*`` flags are boolean flags; the variant is ``on`` or ``off``.
* ``kill_switch`` is a string flag whose value is the mode (``off``, ``writes``,
  ``messages``); its metadata names the customer-facing response.

The evaluation context's ``targeting_key`` is the pseudonymous customer id once
verified (``customer:<id>``), else the conversation (``conversation:<id>``); attributes
``channel``, ``tier`` and ``conversation_id``. Each resolution's metadata carries what
the audit trail records: the rule that decided (``flags.yml:<id>``, ``override:<id>``,
``kill_switch:<mode>``), the targeting key hashed, the policy version and the change counter.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType
from openfeature.provider import AbstractProvider, FeatureProvider, Metadata

from frontline.flags.definitions import KILL_SWITCH_KEY, FlagsPolicy, flags_policy
from frontline.flags.evaluation import (
    REASON_ERROR,
    REASON_STALE,
    REASON_STATIC,
    REASON_TARGETING_MATCH,
    FlagContext,
    resolve,
)
from frontline.flags.signal import create_signal
from frontline.flags.state import FlagState, View
from frontline.flags.store import FlagStoreError, SqlFlagStore
from frontline.outcomes.pseudonym import load_key, pseudonymizer
from frontline.settings import Settings, get_settings

logger = logging.getLogger(__name__)

#: The OpenFeature domain Frontline's clients use.
DOMAIN = "frontline"
PROVIDER_NAME = "frontline-flags"


def to_evaluation_context(context: FlagContext) -> EvaluationContext:
    """OpenFeature's evaluation context for ``context``."""
    attributes: dict[str, Any] = {"conversation_id": context.conversation_id}
    if context.customer_id:
        attributes["customer_id"] = context.customer_id
    if context.channel:
        attributes["channel"] = context.channel
    if context.tier:
        attributes["tier"] = context.tier
    return EvaluationContext(targeting_key=context.targeting_key, attributes=attributes)


def from_evaluation_context(context: EvaluationContext | None) -> FlagContext:
    """Our context from OpenFeature's (attributes missing: unknown)."""
    attributes: Mapping[str, Any] = (context.attributes if context else None) or {}

    def text(name: str) -> str | None:
        value = attributes.get(name)
        return str(value) if value else None

    conversation = text("conversation_id")
    if conversation is None and context is not None and context.targeting_key:
        conversation = context.targeting_key.split(":", 1)[-1]
    return FlagContext(
        conversation_id=conversation or "",
        customer_id=text("customer_id"),
        channel=text("channel"),
        tier=text("tier"),
    )


def _error(
    default_value: Any,
    code: ErrorCode,
    message: str,
    metadata: Mapping[str, Any] | None = None,
) -> FlagResolutionDetails[Any]:
    """The default value, resolved as an error."""
    return FlagResolutionDetails(
        default_value,
        error_code=code,
        error_message=message,
        reason=REASON_ERROR,
        flag_metadata=dict(metadata or {}),
    )


class FrontlineFlagProvider(AbstractProvider):
    """Evaluates the flags of ``policies/flags.yml`` with the database's overrides.

    Args:
        policy: The flag definitions.
        state: The process's view of overrides and the kill switch.
        pseudonymize: Turns the targeting key into what the audit trail records: the
            keyed hash of the outcome records (:mod:`frontline.outcomes.pseudonym`), so an
            evaluation and the contact's outcome name the customer alike, and nobody
            without the key can tell who it was.
    """

    def __init__(
        self, policy: FlagsPolicy, state: FlagState, pseudonymize: Callable[[str], str]
    ) -> None:
        super().__init__()
        self.policy = policy
        self.state = state
        self.pseudonymize = pseudonymize

    def get_metadata(self) -> Metadata:
        return Metadata(name=PROVIDER_NAME)

    def _metadata(self, context: FlagContext, version: int | None, rule: str | None) -> dict:
        metadata: dict[str, Any] = {
            "targeting_key_hash": self.pseudonymize(context.targeting_key),
            "flags_version": self.policy.version,
        }
        if version is not None:
            metadata["store_version"] = version
        if rule:
            metadata["rule"] = rule
        return metadata

    def _view(self, default_value: Any, context: FlagContext) -> View | FlagResolutionDetails[Any]:
        """The flags' state, or (when the store cannot answer) the default as an error."""
        try:
            return self.state.view()
        except FlagStoreError as exc:
            return _error(
                default_value,
                ErrorCode.GENERAL,
                str(exc),
                self._metadata(context, None, None),
            )

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        flag = self.policy.flag(flag_key)
        context = from_evaluation_context(evaluation_context)
        if flag is None:
            return _error(
                default_value,
                ErrorCode.FLAG_NOT_FOUND,
                f"no flag {flag_key!r} in policies/flags.yml",
            )
        view = self._view(default_value, context)
        if isinstance(view, FlagResolutionDetails):
            return view
        resolution = resolve(flag, view.snapshot, context)
        return FlagResolutionDetails(
            resolution.value,
            reason=REASON_STALE if view.stale else resolution.reason,
            variant=resolution.variant,
            flag_metadata=self._metadata(context, view.snapshot.version, resolution.rule),
        )

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        context = from_evaluation_context(evaluation_context)
        if flag_key != KILL_SWITCH_KEY:
            return _error(default_value, ErrorCode.FLAG_NOT_FOUND, f"no string flag {flag_key!r}")
        view = self._view(default_value, context)
        if isinstance(view, FlagResolutionDetails):
            return view
        switch = view.snapshot.kill_switch
        metadata = self._metadata(
            context, view.snapshot.version, f"kill_switch:{switch.mode}" if switch.on else None
        )
        response = switch.response or self.policy.kill_switch_default_response(switch.mode)
        if response:
            metadata["response"] = response
        if switch.since:
            metadata["since"] = switch.since
        if switch.reason:
            metadata["reason"] = switch.reason
        reason = REASON_TARGETING_MATCH if switch.on else REASON_STATIC
        return FlagResolutionDetails(
            switch.mode,
            reason=REASON_STALE if view.stale else reason,
            variant=switch.mode,
            flag_metadata=metadata,
        )

    def _no_such_flag(self, flag_key: str, default_value: Any) -> FlagResolutionDetails[Any]:
        known = self.policy.flag(flag_key) or flag_key == KILL_SWITCH_KEY
        return _error(
            default_value,
            ErrorCode.TYPE_MISMATCH if known else ErrorCode.FLAG_NOT_FOUND,
            f"Frontline has no {flag_key!r} flag of this type",
        )

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        return self._no_such_flag(flag_key, default_value)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self._no_such_flag(flag_key, default_value)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        return self._no_such_flag(flag_key, default_value)


def create_provider(
    settings: Settings | None = None, policy: FlagsPolicy | None = None
) -> (FrontlineFlagProvider):
    """Our provider for ``settings`` (the process's by default); nothing connects yet."""
    settings = settings or get_settings()
    policy = policy or flags_policy(settings.policies_dir)
    store = SqlFlagStore(settings.database_url)
    signal = create_signal(settings, store, policy.redis_ttl_seconds)
    return FrontlineFlagProvider(
        policy,
        FlagState(store, signal, policy.max_stale_seconds),
        pseudonymizer(load_key(settings.pseudonym_key)),
    )


_registration_lock = threading.Lock()
_registered: list[FeatureProvider] = []


def register(provider: FeatureProvider | None = None) -> None:
    """Makes ``provider`` (ours, from the settings, by default) answer for :data:`DOMAIN`.

    A flag server's OpenFeature provider is swapped in by passing it here at start-up.
    """
    with _registration_lock:
        chosen = provider or create_provider()
        api.set_provider_and_wait(chosen, DOMAIN)
        _registered[:] = [chosen]


def flag_client() -> OpenFeatureClient:
    """The OpenFeature client of :data:`DOMAIN` (our provider unless another was registered)."""
    if not _registered:
        with _registration_lock:
            if not _registered:
                chosen = create_provider()
                api.set_provider_and_wait(chosen, DOMAIN)
                _registered.append(chosen)
    return api.get_client(DOMAIN)


def registered_provider() -> FeatureProvider | None:
    """The provider :func:`register` or :func:`flag_client` registered, if any."""
    return _registered[0] if _registered else None

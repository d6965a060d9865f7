"""The one path of every backend write: guardrails → idempotent write → audit → result.

A service describes a write as a :class:`WriteRequest` (the operation, whose account,
what changes, the idempotency key, the connector call) and hands it to
:meth:`WritePath.execute`, which:

1. **guards** it: the capability flag (and the kill switch) is on; the customer was
   verified *server-side* (:mod:`frontline.identity`) and is the owner of what changes;
   consent, scope, order state and money limit hold (:mod:`frontline.services.guardrails`);
2. **writes** it with the idempotency key, inside :func:`~frontline.writes.registry.executing`
   (a connector write called anywhere else raises :class:`WriteOutsidePath`);
3. **reconciles** a timeout: the same key is replayed once (the backend returns the first
   result if the first call went through, or does the write now); if the outcome is
   still unknown it says so, never "nothing changed";
4. **audits** the decision, the flag evaluation and the result;
5. returns a :class:`WriteResult`: ``done``, ``refused`` (with the rule), ``rejected``
   (the backend's business answer, e.g. 409), ``backend_error`` or ``outcome_unknown``.

The services keep their business rules (what to ask the backend, how to explain its
answer); the actions turn a result into events with :meth:`WriteResult.handoff_slots`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Protocol

from frontline.audit.store import AuditStore
from frontline.audit.writes import record_write
from frontline.errors import BackendError, BackendRejected, BackendTimeout
from frontline.policy import Policies, policies
from frontline.services.guardrails import (
    Check,
    Consent,
    Decision,
    WriteCheck,
    WriteContext,
    check_write,
)
from frontline.vocabulary import Reason, Slot
from frontline.writes.registry import executing

logger = logging.getLogger(__name__)


class WriteStatus(str, enum.Enum):
    """What came of a write."""

    DONE = "done"
    REFUSED = "refused"
    REJECTED = "rejected"
    BACKEND_ERROR = "backend_error"
    OUTCOME_UNKNOWN = "outcome_unknown"


class CapabilityEvaluation(Protocol):
    """A flag's answer, as :class:`frontline.flags.capabilities.Evaluation` gives it."""

    @property
    def enabled(self) -> bool:
        ...

    @property
    def response(self) -> str | None:
        ...

    @property
    def handoff_reason(self) -> str | None:
        ...

    def as_record(self) -> dict[str, Any]:
        ...

    def refusal_slots(self) -> dict[str, Any]:
        ...

    def escalation_rule(self) -> Any:
        ...


class CapabilityProvider(Protocol):
    """What the write path asks before a write (``FlagWriteCapabilities``)."""

    async def evaluate(
        self, capability: str, context: Mapping[str, str | None]
    ) -> CapabilityEvaluation:
        ...


_capabilities: CapabilityProvider | None = None


def set_capability_provider(provider: CapabilityProvider | None) -> None:
    """Registers the process's capability provider (None: every write is on)."""
    global _capabilities
    _capabilities = provider
    logger.info("Write capabilities from %r", provider)


def capability_provider() -> CapabilityProvider | None:
    """The process's capability provider (None when none was registered)."""
    return _capabilities


@dataclass(frozen=True)
class WriteRequest:
    """One backend write a service wants made.

    Attributes:
        operation: The write (:class:`frontline.vocabulary.Write`).
        context: The conversation it comes from (server-side identity in it).
        customer_id: Whose account changes.
        subject: What changes (the customer's yes must be to this very value).
        idempotency_key: The same for every retry of this write in this conversation.
        perform: The connector call; it gets the key and returns the backend's answer.
        amount, currency, order_state, tier: For the money, state and scope rules.
        details: What the audit record says was written (masked per policy).
        outcome_of: The service's name for a result, as the audit records it
            (``cancelled``, ``needs_human``; default: the status).
    """

    operation: str
    context: WriteContext
    customer_id: str | None
    subject: str | None
    idempotency_key: str
    perform: Callable[[str], Awaitable[dict[str, Any]]]
    amount: Decimal | str | float | None = None
    currency: str | None = None
    order_state: str | None = None
    tier: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    outcome_of: Callable[[WriteResult], str] | None = None
    details_of: Callable[[WriteResult], Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class WriteResult:
    """What the path did with a write.

    Attributes:
        status: See :class:`WriteStatus`.
        answer: The backend's answer (``done``).
        check: The guardrail's verdict (None when the flags refused first).
        capability: The flag evaluation (None without a capability provider).
        error: The backend's refusal (``rejected``) or failure.
        reconciled: The answer came from replaying the key after a timeout.
    """

    status: WriteStatus
    answer: dict[str, Any] | None = None
    check: WriteCheck | None = None
    capability: CapabilityEvaluation | None = None
    error: BackendError | None = None
    reconciled: bool = False

    @property
    def done(self) -> bool:
        return self.status is WriteStatus.DONE

    @property
    def decision(self) -> Decision | None:
        return self.check.decision if self.check else None

    @property
    def refused_by_flag(self) -> bool:
        return (
            self.status is WriteStatus.REFUSED
            and self.capability is not None
            and not self.capability.enabled
        )

    @property
    def response(self) -> str | None:
        """The response that tells the customer a refusal or an unknown outcome (None:
        the service words the result)."""
        if self.refused_by_flag and self.capability is not None:
            return self.capability.response or "utter_capability_off"
        if self.status is WriteStatus.REFUSED:
            return "utter_write_needs_human"
        if self.status is WriteStatus.OUTCOME_UNKNOWN:
            return "utter_write_outcome_unknown"
        return None

    def handoff_slots(self) -> dict[str, Any]:
        """Slots that send the conversation to a person (empty when none is needed)."""
        if self.refused_by_flag and self.capability is not None:
            return dict(self.capability.refusal_slots())
        if self.status is WriteStatus.REFUSED and self.check is not None:
            return self.check.refusal_slots()
        if self.status is WriteStatus.OUTCOME_UNKNOWN:
            return {Slot.HANDOFF_REASON: Reason.OUTCOME_UNKNOWN}
        if self.status is WriteStatus.BACKEND_ERROR:
            return {Slot.HANDOFF_REASON: Reason.BACKEND_ERROR}
        return {}


def flag_refusal_response(write: WriteResult | None) -> str | None:
    """The response naming a write the flags refused; None otherwise (the service words it)."""
    if write is not None and write.refused_by_flag:
        return write.response
    return None


class WritePath:
    """Executes writes; one per action run is fine (it holds no connections).

    Args:
        rules: The policy modules (default: the process's).
        audit: Where each write is recorded (None: not recorded).
        capabilities: The flags (default: the process's registered provider).
    """

    def __init__(
        self,
        rules: Policies | None = None,
        audit: AuditStore | None = None,
        capabilities: CapabilityProvider | None = None,
    ) -> None:
        self.rules = rules or policies()
        self.audit = audit
        self.capabilities = capabilities if capabilities is not None else _capabilities

    async def execute(self, request: WriteRequest) -> WriteResult:
        """Guards, writes, reconciles, audits; see the module's docstring."""
        evaluation = await self._evaluate(request)
        if evaluation is not None and not evaluation.enabled:
            result = self._flag_refusal(request, evaluation)
        else:
            check = self._check(request)
            result = WriteResult(WriteStatus.REFUSED, check=check, capability=evaluation)
            if check.allowed:
                written = await self._write(request)
                result = replace(written, check=check, capability=evaluation)
        await self._audit(request, result)
        return result

    async def _evaluate(self, request: WriteRequest) -> CapabilityEvaluation | None:
        """The capability flag of the write (None without a provider)."""
        if self.capabilities is None:
            return None
        context = request.context
        evaluation = await self.capabilities.evaluate(
            request.operation,
            {
                "conversation_id": context.conversation_id,
                "channel": context.channel,
                "customer_id": request.customer_id,
                "tier": request.tier,
            },
        )
        return evaluation

    def _flag_refusal(self, request: WriteRequest, evaluation: CapabilityEvaluation) -> WriteResult:
        rule = evaluation.escalation_rule()
        decision = Decision(
            request.operation,
            False,
            rule.rule_id if rule else "flags",
            rule.rationale if rule else "A feature flag is off.",
            "flags",
            rule.version if rule else "",
            self.rules.versions,
            (Check("capability", False, str(evaluation.handoff_reason)),),
        )
        check = WriteCheck(decision, Consent(False, "not asked: the capability is off"))
        return WriteResult(WriteStatus.REFUSED, check=check, capability=evaluation)

    def _check(self, request: WriteRequest) -> WriteCheck:
        context = request.context
        owner = context.customer_id is None or context.customer_id == request.customer_id
        if not owner:
            logger.warning(
                "Write %s in %s for %s, but %s was verified there",
                request.operation,
                context.conversation_id,
                request.customer_id,
                context.customer_id,
            )
        return check_write(
            request.operation,
            replace(context, verified=context.verified and owner and bool(request.customer_id)),
            subject=request.subject,
            amount=request.amount,
            currency=request.currency,
            order_state=request.order_state,
            tier=request.tier,
            rules=self.rules,
        )

    async def _write(self, request: WriteRequest) -> WriteResult:
        """The backend call, with one replay of the key after a timeout."""
        try:
            return WriteResult(WriteStatus.DONE, await self._call(request))
        except BackendRejected as exc:
            return WriteResult(WriteStatus.REJECTED, error=exc)
        except BackendTimeout as exc:
            logger.warning("Write %s timed out, replaying its key: %s", request.operation, exc)
            first = exc
        except BackendError as exc:
            logger.warning("Write %s failed: %s", request.operation, exc)
            return WriteResult(WriteStatus.BACKEND_ERROR, error=exc)
        try:
            answer = await self._call(request)
        except BackendRejected as exc:
            return WriteResult(WriteStatus.REJECTED, error=exc, reconciled=True)
        except BackendError as exc:
            logger.warning("Write %s still unconfirmed: %s", request.operation, exc)
            return WriteResult(WriteStatus.OUTCOME_UNKNOWN, error=first)
        return WriteResult(WriteStatus.DONE, answer, reconciled=True)

    @staticmethod
    async def _call(request: WriteRequest) -> dict[str, Any]:
        with executing(request.operation):
            return await request.perform(request.idempotency_key)

    async def _audit(self, request: WriteRequest, result: WriteResult) -> None:
        if result.check is None:
            return
        details: dict[str, Any] = {"status": result.status.value, **dict(request.details)}
        if request.details_of is not None:
            details.update(request.details_of(result))
        if result.capability is not None:
            details["flags"] = result.capability.as_record()
        if result.reconciled:
            details["reconciled"] = True
        await record_write(
            self.audit,
            request.context,
            result.check,
            idempotency_key=request.idempotency_key,
            outcome=request.outcome_of(result) if request.outcome_of else result.status.value,
            details=details,
        )

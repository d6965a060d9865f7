"""The last check before every backend write: is the assistant allowed to make it?

:func:`authorize_write` applies the policy modules to one write and returns a
:class:`Decision` with the rule that refused it (if one did), a one-sentence
rationale and the policy versions. The checks, in order:

1. the write is declared in the escalation policy (``writes``), else it is refused;
2. the customer is verified, if the write requires it;
3. the customer consented to this very change (consent policy; see
   :func:`consent_from_events`);
4. the write's intent is self-service and not restricted on this channel or for this
   customer tier (scope policy);
5. the order is in a state the policy allows for this write;
6. the amount is within the money limit (else a human approves).

Pure functions, no I/O: the services call them right before the connector call, and
a refusal is turned into a handoff that names the rule (``escalation_rule`` slot).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from frontline.policy import ConsentPolicy, EscalationRule, Policies, policies
from frontline.vocabulary import Reason, Slot

logger = logging.getLogger(__name__)

_RESET_EVENTS = frozenset({"restart", "session_started"})


# -- consent ---------------------------------------------------------------------


@dataclass(frozen=True)
class Consent:
    """Whether the conversation shows the customer's consent to one change, and why.

    Attributes:
        given: True when the consent policy's conditions all hold.
        reason: Why (not), in one sentence.
        subject: The change the customer answered about (e.g. the order number).
        intent: The intent of the customer's answer.
        confidence: The NLU confidence of that intent.
        turns_ago: Customer messages since the answer (0: the answer is the latest).
    """

    given: bool
    reason: str
    subject: str | None = None
    intent: str | None = None
    confidence: float | None = None
    turns_ago: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "given": self.given,
            "reason": self.reason,
            "subject": self.subject,
            "intent": self.intent,
            "confidence": self.confidence,
            "turns_ago": self.turns_ago,
        }


def consent_from_events(
    events: Iterable[Mapping[str, Any]],
    operation: str,
    subject: str | None,
    *,
    policy: ConsentPolicy | None = None,
) -> Consent:
    """Finds the customer's answer to the confirmation question of this very change.

    Args:
        events: The conversation's tracker events, oldest first.
        operation: The write, e.g. ``cancel_order``.
        subject: What is about to change, e.g. the order number being cancelled.
        policy: The consent policy (default: the process's).

    Returns:
        The evidence. Consent holds only if the latest answer to the operation's
        confirmation question (the customer's next message after the question) in
        this session has a consent intent with enough confidence, was about
        ``subject``, and is no more than ``max_turns`` messages old.
    """
    policy = policy or policies().consent
    rule = policy.rule_for(operation)
    if rule is None:
        return Consent(True, f"{operation} needs no explicit consent.")
    slots: dict[str, Any] = {}
    asked: list[Any] | None = None  # [the question's own subject value] while unanswered
    question_seen = False
    answer: tuple[str | None, str | None, float | None, int] | None = None
    user_turns = 0
    for event in events:
        kind = event.get("event")
        if kind in _RESET_EVENTS:
            slots, asked, question_seen, answer, user_turns = {}, None, False, None, 0
        elif kind == "slot":
            slots[str(event.get("name"))] = event.get("value")
        elif kind == "bot":
            metadata = event.get("metadata") or {}
            if metadata.get("utter_action") == rule.question:
                asked = [metadata.get(rule.subject)]
                question_seen = True
        elif kind == "user":
            user_turns += 1
            if asked is not None:
                # The question's own variable, else the slot as it stood when the customer
                # answered (the asking action may set it right after its message).
                value = asked[0] if asked[0] is not None else slots.get(rule.subject)
                intent = ((event.get("parse_data") or {}).get("intent") or {}) or {}
                confidence = intent.get("confidence")
                answer = (
                    str(value) if value is not None else "",
                    intent.get("name"),
                    float(confidence) if isinstance(confidence, (int, float)) else None,
                    user_turns,
                )
                asked = None
    if answer is None:
        reason = (
            "the customer has not answered the confirmation question yet"
            if question_seen
            else "the confirmation question for this change was never asked"
        )
        return Consent(False, reason)
    asked_subject, intent, confidence, turn = answer
    turns_ago = user_turns - turn
    evidence = partial(
        Consent, subject=asked_subject, intent=intent, confidence=confidence, turns_ago=turns_ago
    )
    if intent not in policy.consent_intents:
        return evidence(False, f"the customer answered '{intent}', not a yes")
    if confidence is None or confidence < policy.min_confidence:
        return evidence(
            False,
            f"the yes was understood with confidence {confidence or 0:.2f}, "
            f"below {policy.min_confidence:.2f}",
        )
    if subject is not None and asked_subject != str(subject):
        return evidence(
            False, f"the yes was for {asked_subject or 'another change'}, not {subject}"
        )
    if turns_ago > rule.max_turns:
        return evidence(
            False,
            f"the yes was given {turns_ago} messages ago, more than the {rule.max_turns} allowed",
        )
    return evidence(True, "the customer said yes to this very change")


# -- decisions -------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One condition of a write and whether it held."""

    name: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Decision:
    """Whether a write may go ahead.

    Attributes:
        operation: The write, e.g. ``cancel_order``.
        allowed: True when every check held.
        rule_id: The rule that refused the write (None when allowed).
        rationale: One sentence: why it may or may not go ahead.
        policy: The policy module of the refusing rule (None when allowed).
        policy_version: That module's version (all versions when allowed).
        policy_versions: Every policy module's version.
        checks: Each condition checked, in order.
    """

    operation: str
    allowed: bool
    rule_id: str | None
    rationale: str
    policy: str | None
    policy_version: str
    policy_versions: Mapping[str, str]
    checks: tuple[Check, ...] = field(default_factory=tuple)

    def escalation_rule(self) -> EscalationRule | None:
        """The rule to hand off with (None when the write is allowed)."""
        if self.allowed or not self.rule_id:
            return None
        return EscalationRule(self.rule_id, self.rationale, self.policy or "", self.policy_version)

    def as_dict(self) -> dict[str, Any]:
        """The decision as the audit trail records it."""
        return {
            "operation": self.operation,
            "allowed": self.allowed,
            "rule_id": self.rule_id,
            "rationale": self.rationale,
            "policy": self.policy,
            "policy_version": self.policy_version,
            "policy_versions": dict(self.policy_versions),
            "checks": [check.as_dict() for check in self.checks],
        }


def _amount(value: Decimal | str | float | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _money(amount: Decimal, currency: str) -> str:
    return f"${amount:,.2f}" if currency == "USD" else f"{amount:,.2f} {currency}"


def authorize_write(
    operation: str,
    *,
    verified: bool,
    consent: Consent | None,
    amount: Decimal | str | float | None = None,
    currency: str | None = None,
    order_state: str | None = None,
    tier: str | None = None,
    channel: str | None = None,
    rules: Policies | None = None,
) -> Decision:
    """Decides whether the assistant may make this write now.

    Args:
        operation: The write, as declared in the escalation policy's ``writes``.
        verified: Whether the customer was verified against the CRM.
        consent: The consent evidence (:func:`consent_from_events`); None = none found.
        amount: The money the write moves (e.g. the order total that is refunded).
        currency: The amount's currency.
        order_state: The state of the order the write changes.
        tier: The verified customer's tier.
        channel: The channel of the conversation.
        rules: The policy modules (default: the process's).

    Returns:
        The decision; when refused, ``rule_id`` and ``rationale`` say which rule and why.
    """
    rules = rules or policies()
    versions = rules.versions
    checks: list[Check] = []

    def refuse(module: str, rule_id: str, rationale: str, check: str) -> Decision:
        checks.append(Check(check, False, rationale))
        decision = Decision(
            operation, False, rule_id, rationale, module, versions[module], versions, tuple(checks)
        )
        logger.info("Write %s refused by %s: %s", operation, rule_id, rationale)
        return decision

    write = rules.escalation.writes.get(operation)
    if write is None:
        return refuse(
            "escalation",
            "escalation.writes.undeclared",
            f"The policy does not list {operation} among the writes the assistant may make.",
            "declared",
        )
    checks.append(Check("declared", True, f"{operation} is a declared write"))
    prefix = f"escalation.writes.{operation}"

    if write.requires_verification and not verified:
        return refuse(
            "escalation",
            f"{prefix}.verification",
            f"The customer must be verified before {operation}, and is not.",
            "verified",
        )
    checks.append(Check("verified", True, "verified" if verified else "not required"))

    consent_rule = rules.consent.rule_for(operation)
    if consent_rule is not None:
        if consent is None or not consent.given:
            why = consent.reason if consent else "no consent was found"
            return refuse(
                "consent",
                f"consent.{operation}",
                f"There is no valid consent to {operation}: {why}.",
                "consent",
            )
        checks.append(Check("consent", True, consent.reason))

    restriction = rules.scope.restriction_for(write.intent, channel, tier)
    if write.intent not in rules.scope.self_service:
        return refuse(
            "scope",
            "scope.not_self_service",
            f"{write.intent} is not a contact the assistant resolves on its own.",
            "scope",
        )
    if restriction is not None:
        return refuse("scope", restriction.rule_id, restriction.rationale, "scope")
    checks.append(Check("scope", True, f"{write.intent} is self-service on {channel or 'any'}"))

    if write.allowed_states is not None:
        if order_state not in write.allowed_states:
            return refuse(
                "escalation",
                f"{prefix}.order_state",
                f"The order is {order_state or 'in an unknown state'}; the assistant may "
                f"{operation} only when it is {', '.join(write.allowed_states)}.",
                "order_state",
            )
        checks.append(Check("order_state", True, f"order is {order_state}"))

    if write.money_limit is not None:
        limit = write.money_limit
        value = _amount(amount)
        if value is None or (currency or limit.currency) != limit.currency:
            return refuse(
                "escalation",
                f"{prefix}.money_limit",
                f"The amount of this {operation} is unknown or not in {limit.currency}, "
                "so a person approves it.",
                "money_limit",
            )
        if value > limit.amount:
            return refuse(
                "escalation",
                f"{prefix}.money_limit",
                f"{_money(value, limit.currency)} is above the "
                f"{_money(limit.amount, limit.currency)} the assistant may {operation} "
                "on its own; a person approves it.",
                "money_limit",
            )
        checks.append(
            Check("money_limit", True, f"{_money(value, limit.currency)} within the limit")
        )

    return Decision(
        operation,
        True,
        None,
        f"{operation} is allowed: {'; '.join(c.detail for c in checks)}.",
        None,
        ",".join(f"{name}@{version}" for name, version in versions.items()),
        versions,
        tuple(checks),
    )


# -- one call before each write ---------------------------------------------------


@dataclass(frozen=True)
class WriteCheck:
    """The guardrail's verdict on one write, with the consent evidence behind it."""

    decision: Decision
    consent: Consent

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    def refusal_slots(self) -> dict[str, Any]:
        """Slots that send the conversation to a person with the refusing rule (empty if
        allowed): ``handoff_reason`` ``policy`` and ``escalation_rule``."""
        rule = self.decision.escalation_rule()
        if rule is None:
            return {}
        return {Slot.HANDOFF_REASON: Reason.POLICY, Slot.ESCALATION_RULE: rule.as_slot()}


def check_write(
    operation: str,
    context: WriteContext,
    *,
    subject: str | None,
    amount: Decimal | str | float | None = None,
    currency: str | None = None,
    order_state: str | None = None,
    tier: str | None = None,
    rules: Policies | None = None,
) -> WriteCheck:
    """Reads the consent evidence from the conversation and decides on the write.

    Call it right before the connector call; write only if ``allowed``.

    Args:
        operation: The write, as declared in the escalation policy (``cancel_order``).
        context: The conversation the write comes from.
        subject: What changes (the order number, the new address, ...): the customer's
            yes must have been to the question about this very value.
        amount, currency, order_state, tier: As :func:`authorize_write` takes them.
        rules: The policy modules (default: the process's).
    """
    rules = rules or policies()
    consent = consent_from_events(context.events, operation, subject, policy=rules.consent)
    decision = authorize_write(
        operation,
        verified=context.verified,
        consent=consent,
        amount=amount,
        currency=currency,
        order_state=order_state,
        tier=tier,
        channel=context.channel,
        rules=rules,
    )
    return WriteCheck(decision, consent)


# -- what the action server knows about a write -----------------------------------


@dataclass(frozen=True)
class WriteContext:
    """What the guardrail needs to know about the conversation a write comes from.

    Attributes:
        conversation_id: The Rasa sender id.
        channel: The conversation's channel.
        verified: Whether the customer was verified against the CRM, as Frontline's own
            identity store says (never the posted slots).
        events: The tracker's events (consent evidence is read from them).
        customer_id: The customer verified server-side (a write to another customer's
            account is refused as unverified).
    """

    conversation_id: str
    channel: str | None
    verified: bool
    events: Sequence[Mapping[str, Any]] = ()
    customer_id: str | None = None

    @classmethod
    def from_conversation(
        cls, conversation: Mapping[str, Any], verified_customer_id: str | None
    ) -> WriteContext:
        """Builds the context from a tracker state (``Tracker.current_state()``).

        Args:
            conversation: The tracker state as posted to the action server.
            verified_customer_id: The customer the identity store holds for this
                conversation (:mod:`frontline.identity`); the posted slots are not read.
        """
        events = [e for e in conversation.get("events") or [] if isinstance(e, Mapping)]
        channel = conversation.get("latest_input_channel")
        if not channel:
            users = [e for e in events if e.get("event") == "user"]
            channel = users[-1].get("input_channel") if users else None
        return cls(
            conversation_id=str(conversation.get("sender_id") or ""),
            channel=channel,
            verified=bool(verified_customer_id),
            events=events,
            customer_id=verified_customer_id,
        )

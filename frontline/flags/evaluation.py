"""Evaluating one flag for one conversation: pure functions over a snapshot, no I/O.

Order of precedence (the first that applies decides):

1. the kill switch: while it is on (``writes`` or ``messages``), every ``write.*`` flag is off;
2. operators' overrides of the flag, newest first, whose segment holds the conversation;
3. the file's rules of the flag, in order;
4. the flag's default.

A segment holds a conversation when its channel and the customer's tier are listed (or
the segment lists none) and the customer falls within its percentage. The percentage is
sticky: :func:`bucket` hashes the flag's bucket name and the targeting key (the
pseudonymous customer id once verified, the conversation id before), so one person gets
the same answer on every channel and in every conversation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from frontline.flags.definitions import (
    KILL_SWITCH_OFF,
    FlagDefinition,
    Segment,
)

#: OpenFeature's resolution reasons we use (``openfeature.flag_evaluation.Reason``).
REASON_STATIC = "STATIC"
REASON_DEFAULT = "DEFAULT"
REASON_TARGETING_MATCH = "TARGETING_MATCH"
REASON_SPLIT = "SPLIT"
REASON_DISABLED = "DISABLED"
REASON_STALE = "STALE"
REASON_ERROR = "ERROR"

VARIANT_ON = "on"
VARIANT_OFF = "off"
#: Hash digits making a bucket (15 hex digits: 60 bits, far below float precision loss).
_BUCKET_DIGITS = 15


@dataclass(frozen=True)
class FlagContext:
    """Who and where a flag is evaluated for.

    Attributes:
        conversation_id: The Rasa sender id.
        customer_id: The verified customer's pseudonymous id (None before verification).
        channel: The conversation's channel (``rest``, ``socketio``, ``slack``, ...).
        tier: The verified customer's tier (None before verification).
    """

    conversation_id: str
    customer_id: str | None = None
    channel: str | None = None
    tier: str | None = None

    @property
    def targeting_key(self) -> str:
        """The customer once verified, else the conversation: what percentages stick to."""
        if self.customer_id:
            return f"customer:{self.customer_id}"
        return f"conversation:{self.conversation_id}"


def bucket(salt: str, targeting_key: str) -> float:
    """A stable position in [0, 100) for ``targeting_key`` within the flag bucket ``salt``."""
    digest = hashlib.sha256(f"{salt}\x00{targeting_key}".encode()).hexdigest()
    return int(digest[:_BUCKET_DIGITS], 16) / 16**_BUCKET_DIGITS * 100.0


def in_segment(segment: Segment, context: FlagContext, salt: str) -> bool:
    """Whether ``context`` falls in ``segment`` (a tier segment never holds an unknown tier)."""
    if segment.channels and (context.channel or "") not in segment.channels:
        return False
    if segment.tiers and (context.tier or "") not in segment.tiers:
        return False
    if segment.percentage is not None:
        return bucket(salt, context.targeting_key) < segment.percentage
    return True


@dataclass(frozen=True)
class Override:
    """An operator's override of one flag for one segment, kept in the database."""

    override_id: str
    flag_key: str
    value: bool
    segment: Segment
    reason: str
    actor: str
    created_at: str

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.override_id,
            "flag": self.flag_key,
            "value": self.value,
            "segment": self.segment.as_dict(),
            "reason": self.reason,
            "actor": self.actor,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class KillSwitch:
    """The kill switch's state: mode, the customer-facing response, who, when and why."""

    mode: str = KILL_SWITCH_OFF
    response: str | None = None
    reason: str | None = None
    actor: str | None = None
    since: str | None = None

    @property
    def on(self) -> bool:
        return self.mode != KILL_SWITCH_OFF

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "response": self.response,
            "reason": self.reason,
            "actor": self.actor,
            "since": self.since,
        }


@dataclass(frozen=True)
class Snapshot:
    """Every override and the kill switch, as of one change counter value."""

    version: int = 0
    kill_switch: KillSwitch = field(default_factory=KillSwitch)
    overrides: Mapping[str, tuple[Override, ...]] = field(default_factory=dict)  # newest first


@dataclass(frozen=True)
class Resolution:
    """What one flag is for one conversation, and why."""

    value: bool
    reason: str
    rule: str | None

    @property
    def variant(self) -> str:
        return VARIANT_ON if self.value else VARIANT_OFF


def _segment_reason(segment: Segment) -> str:
    return REASON_SPLIT if segment.percentage is not None else REASON_TARGETING_MATCH


def resolve(flag: FlagDefinition, snapshot: Snapshot, context: FlagContext) -> Resolution:
    """Evaluates ``flag`` for ``context`` (see the module's order of precedence)."""
    if flag.is_write and snapshot.kill_switch.on:
        return Resolution(False, REASON_DISABLED, f"kill_switch:{snapshot.kill_switch.mode}")
    overrides = snapshot.overrides.get(flag.key, ())
    for override in overrides:
        if in_segment(override.segment, context, flag.bucket):
            return Resolution(
                override.value,
                _segment_reason(override.segment),
                f"override:{override.override_id}",
            )
    for rule in flag.rules:
        if in_segment(rule.segment, context, flag.bucket):
            return Resolution(
                rule.value, _segment_reason(rule.segment), f"flags.yml:{rule.rule_id}"
            )
    return Resolution(
        flag.default, REASON_DEFAULT if flag.rules or overrides else REASON_STATIC, None
    )

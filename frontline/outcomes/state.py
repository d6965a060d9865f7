"""The folded state of one contact, and the outcome record derived from it.

:class:`ContactState` is everything the fold needs to carry on with the next event;
it is stored as JSON with the record (``fold_state``), so any process (another Sanic
worker, another instance, the same one after a restart) continues where the last one
stopped. :func:`derive_row` turns a state into the record's columns at a given time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from frontline.outcomes.model import (
    ABANDONED,
    CONFIDENCE_BINS,
    ESCALATED,
    HANDED_BACK_RESOLVED,
    IN_PROGRESS,
    RESOLVED_AFTER_CLARIFICATION,
    RESOLVED_BY_ASSISTANT,
    RESOLVED_BY_PERSON,
    UNENGAGED,
    UNKNOWN,
    UNRECOGNISED,
)
from frontline.outcomes.policy import OutcomePolicy

#: Longest lists kept in the state (sentiment scores, seen action-log entries).
MAX_SCORES = 100
MAX_LOG_KEYS = 60


def contact_id_for(conversation_id: str, started_at: float) -> str:
    """The contact's id: stable, so a rebuild from the tracker store finds the same row."""
    material = f"{conversation_id}\x1f{started_at:.6f}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


@dataclass
class ContactState:
    """What the fold knows about one contact (JSON-able; times in epoch seconds)."""

    contact_id: str
    conversation_id: str
    started_at: float
    #: Row version in the store (optimistic concurrency); not part of the fold.
    version: int = 0
    channel: str | None = None
    customer_key: str | None = None
    customer_verified: bool = False
    tier: str | None = None
    interaction_type: str | None = None
    engaged: bool = False
    model_id: str | None = None
    policy_version: str | None = None
    # -- times
    first_customer_at: float | None = None
    last_customer_at: float | None = None
    last_event_at: float | None = None
    first_response_at: float | None = None
    last_assistant_at: float | None = None
    assistant_seconds: float = 0.0
    segment_start: float | None = None
    # -- counts
    turns: int = 0
    clarifying_questions: int = 0
    fallbacks: int = 0
    calls_logged: int = 0
    failures_logged: int = 0
    failure_responses: int = 0
    log_keys: list[str] = field(default_factory=list)
    actions_started: int = 0
    actions_completed: int = 0
    active_loop: str | None = None
    last_action: str | None = None
    # -- resolution by the assistant
    resolved_at: float | None = None
    resolution_kind: str | None = None
    resolved_intent: str | None = None
    clarified_before_resolution: bool = False
    resolved_after_resume: bool = False
    follow_ups_after_resolution: int = 0
    reopened: bool = False
    # -- CSAT
    csat_feedback_id: str | None = None
    csat_asked: bool = False
    csat_needs_lookup: bool = False
    csat_score: int | None = None
    csat_comment: str | None = None
    # -- sentiment (frustration lexicon scores of the customer's messages) and confidence
    sentiment: list[float] = field(default_factory=list)
    confidence_count: int = 0
    confidence_sum: float = 0.0
    confidence_min: float | None = None
    confidence_hist: list[int] = field(default_factory=lambda: [0] * CONFIDENCE_BINS)
    # -- the person
    paused: bool = False
    escalated_at: float | None = None
    handoffs: int = 0
    resumed_at: float | None = None
    handed_back: bool = False
    escalation_reason: str | None = None
    escalation_rule: str | None = None
    pending_reason: str | None = None
    pending_rule: str | None = None
    handoff_entry_id: str | None = None
    human_needs_lookup: bool = False
    enqueued_at: float | None = None
    claimed_at: float | None = None
    human_resolved_at: float | None = None
    resolution_code: str | None = None
    queue_wait_seconds: float | None = None
    human_seconds: float | None = None
    # -- the end
    session_ended: bool = False
    repeat_checked: str | None = None

    @classmethod
    def new(cls, conversation_id: str, started_at: float) -> ContactState:
        return cls(contact_id_for(conversation_id, started_at), conversation_id, started_at)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data.pop("version")
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, version: int = 0) -> ContactState:
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}, version=version)

    # -- derived values ------------------------------------------------------------

    @property
    def assistant_handle_seconds(self) -> float | None:
        """Closed assistant segments plus the open one (first message to last answer)."""
        total = self.assistant_seconds
        if self.segment_start is not None and self.last_assistant_at is not None:
            total += max(self.last_assistant_at - self.segment_start, 0.0)
        return round(total, 3) if self.first_customer_at is not None else None

    @property
    def backend_failures(self) -> int:
        return max(self.failures_logged, self.failure_responses)

    @property
    def backend_calls(self) -> int:
        return self.calls_logged + (self.backend_failures - self.failures_logged)

    def sentiment_trend(self) -> float | None:
        """Mean score of the later half of the messages minus that of the earlier half."""
        scores = self.sentiment
        if len(scores) < 2:
            return None
        half = len(scores) // 2
        older, newer = scores[:half], scores[half:]
        return round(sum(newer) / len(newer) - sum(older) / len(older), 4)


def derive_outcome(state: ContactState, policy: OutcomePolicy, now: float) -> str:
    """The contact's outcome at ``now`` (see ``docs/metrics.md``, "Outcomes")."""
    if state.escalated_at is not None:
        code = state.resolution_code
        if code in policy.names("person_resolution_codes"):
            return RESOLVED_BY_PERSON
        back = state.handed_back or code in policy.names("handed_back_codes")
        if (back or state.resumed_at is not None) and state.resolved_after_resume:
            return HANDED_BACK_RESOLVED
        return ESCALATED
    if state.resolved_at is not None:
        if state.clarified_before_resolution:
            return RESOLVED_AFTER_CLARIFICATION
        return RESOLVED_BY_ASSISTANT
    last = state.last_customer_at or state.last_event_at or state.started_at
    ended = state.session_ended or now - last >= policy.abandon_after_seconds
    if not ended:
        return IN_PROGRESS
    return ABANDONED if state.engaged else UNENGAGED


def _seconds(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(end - start, 0.0), 3)


def derive_row(state: ContactState, policy: OutcomePolicy, now: float) -> dict[str, Any]:
    """The record's folded columns (everything but the annotations set elsewhere)."""
    confidence_mean = (
        round(state.confidence_sum / state.confidence_count, 4) if state.confidence_count else None
    )
    interaction_type = state.interaction_type or (UNRECOGNISED if state.engaged else None)
    scores = state.sentiment
    return {
        "contact_id": state.contact_id,
        "conversation_id": state.conversation_id,
        "started_at": state.started_at,
        "last_event_at": state.last_event_at or state.started_at,
        "last_customer_at": state.last_customer_at,
        "channel": state.channel or UNKNOWN,
        "customer_key": state.customer_key,
        "customer_verified": state.customer_verified,
        "tier": state.tier or UNKNOWN,
        "interaction_type": interaction_type,
        "engaged": state.engaged,
        "outcome": derive_outcome(state, policy, now),
        "escalation_reason": state.escalation_reason,
        "escalation_rule": state.escalation_rule,
        "handoff_entry_id": state.handoff_entry_id,
        "resolution_code": state.resolution_code,
        "handed_back": state.handed_back,
        "resolved_at": state.resolved_at,
        "escalated_at": state.escalated_at,
        "first_response_seconds": _seconds(state.first_customer_at, state.first_response_at),
        "assistant_handle_seconds": state.assistant_handle_seconds,
        "queue_wait_seconds": state.queue_wait_seconds,
        "human_handle_seconds": state.human_seconds,
        "turns": state.turns,
        "clarifying_questions": state.clarifying_questions,
        "fallbacks": state.fallbacks,
        "backend_calls": state.backend_calls,
        "backend_failures": state.backend_failures,
        "actions_started": state.actions_started,
        "actions_completed": state.actions_completed,
        "csat_asked": state.csat_asked,
        "csat_score": state.csat_score,
        "csat_comment": state.csat_comment,
        "sentiment_first": scores[0] if scores else None,
        "sentiment_last": scores[-1] if scores else None,
        "sentiment_max": max(scores) if scores else None,
        "sentiment_trend": state.sentiment_trend(),
        "confidence_mean": confidence_mean,
        "confidence_min": state.confidence_min,
        "confidence_hist": json.dumps(state.confidence_hist),
        "model_id": state.model_id or UNKNOWN,
        "policy_version": state.policy_version or UNKNOWN,
        "follow_ups_after_resolution": state.follow_ups_after_resolution,
        "reopened": state.reopened,
        "fold_state": state.to_json(),
    }

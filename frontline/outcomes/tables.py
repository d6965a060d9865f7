"""The tables of outcome records and SLO evaluations (SQLite by default, PostgreSQL).

Times are seconds since the epoch (UTC) in double-precision columns: durations,
rolling windows and day buckets are then plain arithmetic on every database, which
keeps the metrics' SQL portable and fast. Plain columns (no JSON but the fold's own
state and the confidence histogram), so analysts can query them directly::

    SELECT interaction_type, outcome, count(*) FROM contact_outcomes GROUP BY 1, 2;
"""

from __future__ import annotations

import sqlalchemy as sa

from frontline.db import Base

Time = sa.Float(precision=53)

contact_outcomes = sa.Table(
    "contact_outcomes",
    Base.metadata,
    sa.Column("contact_id", sa.String(32), primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("started_at", Time, nullable=False),
    sa.Column("last_event_at", Time, nullable=False),
    sa.Column("last_customer_at", Time),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("customer_key", sa.String(32)),
    sa.Column("customer_verified", sa.Boolean, nullable=False, default=False),
    sa.Column("tier", sa.String(32), nullable=False),
    sa.Column("interaction_type", sa.String(100)),
    sa.Column("engaged", sa.Boolean, nullable=False, default=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("escalation_reason", sa.String(64)),
    sa.Column("escalation_rule", sa.String(128)),
    sa.Column("handoff_entry_id", sa.String(64)),
    sa.Column("resolution_code", sa.String(64)),
    sa.Column("handed_back", sa.Boolean, nullable=False, default=False),
    sa.Column("resolved_at", Time),
    sa.Column("escalated_at", Time),
    sa.Column("first_response_seconds", sa.Float),
    sa.Column("assistant_handle_seconds", sa.Float),
    sa.Column("queue_wait_seconds", sa.Float),
    sa.Column("human_handle_seconds", sa.Float),
    sa.Column("turns", sa.Integer, nullable=False, default=0),
    sa.Column("clarifying_questions", sa.Integer, nullable=False, default=0),
    sa.Column("fallbacks", sa.Integer, nullable=False, default=0),
    sa.Column("backend_calls", sa.Integer, nullable=False, default=0),
    sa.Column("backend_failures", sa.Integer, nullable=False, default=0),
    sa.Column("actions_started", sa.Integer, nullable=False, default=0),
    sa.Column("actions_completed", sa.Integer, nullable=False, default=0),
    sa.Column("csat_asked", sa.Boolean, nullable=False, default=False),
    sa.Column("csat_score", sa.SmallInteger),
    sa.Column("csat_comment", sa.String(1000)),
    sa.Column("sentiment_first", sa.Float),
    sa.Column("sentiment_last", sa.Float),
    sa.Column("sentiment_max", sa.Float),
    sa.Column("sentiment_trend", sa.Float),
    sa.Column("confidence_mean", sa.Float),
    sa.Column("confidence_min", sa.Float),
    sa.Column("confidence_hist", sa.String(200)),
    sa.Column("model_id", sa.String(64), nullable=False),
    sa.Column("policy_version", sa.String(255), nullable=False),
    sa.Column("follow_ups_after_resolution", sa.Integer, nullable=False, default=0),
    sa.Column("reopened", sa.Boolean, nullable=False, default=False),
    # -- set by the writer after it compared the contact with others (repeat contacts)
    sa.Column("is_repeat", sa.Boolean, nullable=False, default=False),
    sa.Column("repeat_of", sa.String(32)),
    sa.Column("followed_by_repeat", sa.Boolean, nullable=False, default=False),
    # -- set by a person at the desk
    sa.Column("could_have_handled", sa.Boolean),
    sa.Column("could_have_handled_by", sa.String(255)),
    sa.Column("could_have_handled_at", Time),
    sa.Column("could_have_handled_note", sa.String(500)),
    # -- set when an agent flags one of the assistant's turns (frontline/review/)
    sa.Column("agent_flags", sa.Integer, nullable=False, default=0, server_default=sa.text("0")),
    sa.Column("agent_flag_reasons", sa.String(255)),
    # -- bookkeeping
    sa.Column("fold_state", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("updated_at", Time, nullable=False),
    sa.Index("ix_contact_outcomes_started", "started_at"),
    sa.Index("ix_contact_outcomes_conversation", "conversation_id", "started_at"),
    sa.Index("ix_contact_outcomes_customer", "customer_key", "interaction_type", "started_at"),
    sa.Index("ix_contact_outcomes_open", "outcome", "last_event_at"),
    sa.Index("ix_contact_outcomes_escalated", "escalated_at"),
)

#: Columns the fold writes (everything but the repeat and desk annotations).
FOLDED_COLUMNS = tuple(
    column.name
    for column in contact_outcomes.columns
    if column.name
    not in {
        "is_repeat",
        "repeat_of",
        "followed_by_repeat",
        "could_have_handled",
        "could_have_handled_by",
        "could_have_handled_at",
        "could_have_handled_note",
        "agent_flags",
        "agent_flag_reasons",
        "version",
        "updated_at",
    }
)

#: Columns people set (kept when a rebuild folds the contacts again).
PERSON_COLUMNS = (
    "could_have_handled",
    "could_have_handled_by",
    "could_have_handled_at",
    "could_have_handled_note",
    "agent_flags",
    "agent_flag_reasons",
)

#: The latest evaluation of each objective in each segment.
slo_status = sa.Table(
    "slo_status",
    Base.metadata,
    sa.Column("objective_id", sa.String(64), primary_key=True),
    sa.Column("segment", sa.String(200), primary_key=True),
    sa.Column("metric", sa.String(64), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("target", sa.Float, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("lower", sa.Float),
    sa.Column("upper", sa.Float),
    sa.Column("sample", sa.Integer, nullable=False),
    sa.Column("window_start", Time, nullable=False),
    sa.Column("evaluated_at", Time, nullable=False),
)

#: Every breach: opened when an objective's interval left the target behind, closed
#: when it no longer does. ``open_key`` is set while open (one open breach per
#: objective and segment, whatever the number of evaluating processes).
slo_breaches = sa.Table(
    "slo_breaches",
    Base.metadata,
    sa.Column("breach_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("objective_id", sa.String(64), nullable=False),
    sa.Column("segment", sa.String(200), nullable=False),
    sa.Column("metric", sa.String(64), nullable=False),
    sa.Column("target", sa.Float, nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("lower", sa.Float),
    sa.Column("upper", sa.Float),
    sa.Column("sample", sa.Integer, nullable=False),
    sa.Column("opened_at", Time, nullable=False),
    sa.Column("last_seen_at", Time, nullable=False),
    sa.Column("closed_at", Time),
    sa.Column("open_key", sa.String(270), unique=True),
    sa.Index("ix_slo_breaches_opened", "opened_at"),
)

TABLES = [contact_outcomes, slo_status, slo_breaches]
#: Columns added after the first release (added to existing tables on first use).
ADDED_COLUMNS = ("agent_flags", "agent_flag_reasons")

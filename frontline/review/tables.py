"""The review loop's tables: labels of messages, verdicts on conversations, agents' flags.

Times are seconds since the epoch (UTC). Texts are stored masked
(:func:`frontline.review.sources.masked`), never as the customer typed them.
"""

from __future__ import annotations

import sqlalchemy as sa

from frontline.db import Base

Time = sa.Float(precision=53)

#: A reviewer's label of one customer message (the latest label wins).
review_labels = sa.Table(
    "review_labels",
    Base.metadata,
    sa.Column("item_key", sa.String(64), primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("message_at", Time, nullable=False),
    sa.Column("text", sa.String(2000), nullable=False),
    sa.Column("predicted_intent", sa.String(100)),
    sa.Column("confidence", sa.Float),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("intent", sa.String(100), nullable=False),
    sa.Column("model_id", sa.String(64)),
    sa.Column("reviewer", sa.String(255), nullable=False),
    sa.Column("labelled_at", Time, nullable=False),
    sa.Index("ix_review_labels_intent", "intent"),
)

#: A reviewer's verdict on a whole conversation (one per verdict and reviewer).
review_verdicts = sa.Table(
    "review_verdicts",
    Base.metadata,
    sa.Column("conversation_id", sa.String(255), primary_key=True),
    sa.Column("verdict", sa.String(32), primary_key=True),
    sa.Column("reviewer", sa.String(255), primary_key=True),
    sa.Column("contact_id", sa.String(32)),
    sa.Column("note", sa.String(500)),
    sa.Column("decided_at", Time, nullable=False),
)

#: An agent's flag on one of the assistant's turns (one per turn and agent).
review_flags = sa.Table(
    "review_flags",
    Base.metadata,
    sa.Column("conversation_id", sa.String(255), primary_key=True),
    sa.Column("turn_at", Time, primary_key=True),
    sa.Column("agent", sa.String(255), primary_key=True),
    sa.Column("entry_id", sa.String(64)),
    sa.Column("contact_id", sa.String(32)),
    sa.Column("bot_text", sa.String(2000), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("note", sa.String(500)),
    sa.Column("flagged_at", Time, nullable=False),
    sa.Index("ix_review_flags_flagged", "flagged_at"),
)

TABLES = [review_labels, review_verdicts, review_flags]

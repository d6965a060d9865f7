"""CSAT records in the ``csat_feedback`` table (SQLite on a laptop, PostgreSQL in production).

One row per question answered, with plain columns (no JSON) so designers can query
it directly::

    SELECT intent, channel, avg(score), count(*) FROM csat_feedback GROUP BY 1, 2;
"""

from __future__ import annotations

import logging
import threading
import weakref
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine

from frontline.db import Base, create_tables, get_engine, session_scope
from frontline.feedback.base import (
    MAX_CHANNEL_LENGTH,
    MAX_COMMENT_LENGTH,
    MAX_CONVERSATION_ID_LENGTH,
    MAX_FEEDBACK_ID_LENGTH,
    MAX_INTENT_LENGTH,
    SCORE_MAX,
    SCORE_MIN,
    CsatRecord,
    FeedbackError,
    FeedbackStore,
)

logger = logging.getLogger(__name__)


class _UTCDateTime(sa.types.TypeDecorator):
    """Aware datetimes stored as naive UTC, read back as aware UTC on every database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class CsatFeedbackRow(Base):
    """One answer to the CSAT question."""

    __tablename__ = "csat_feedback"
    __table_args__ = (
        sa.CheckConstraint(
            f"score IS NULL OR (score >= {SCORE_MIN} AND score <= {SCORE_MAX})",
            name="ck_csat_feedback_score",
        ),
        sa.Index("ix_csat_feedback_conversation", "conversation_id", "created_at"),
        sa.Index("ix_csat_feedback_intent", "intent", "created_at"),
    )

    feedback_id = sa.Column(sa.String(MAX_FEEDBACK_ID_LENGTH), primary_key=True)
    conversation_id = sa.Column(sa.String(MAX_CONVERSATION_ID_LENGTH), nullable=False)
    channel = sa.Column(sa.String(MAX_CHANNEL_LENGTH), nullable=False)
    intent = sa.Column(sa.String(MAX_INTENT_LENGTH))
    score = sa.Column(sa.SmallInteger)
    comment = sa.Column(sa.String(MAX_COMMENT_LENGTH))
    created_at = sa.Column(_UTCDateTime, nullable=False)
    updated_at = sa.Column(_UTCDateTime, nullable=False)


_table: sa.Table = CsatFeedbackRow.__table__
_ready_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_ready_lock = threading.Lock()


def _ensure_table(engine: Engine) -> None:
    """Creates the table unless it exists (the engine may predate this module's import)."""
    with _ready_lock:
        if engine in _ready_engines:
            return
        create_tables(engine, [_table])
        _ready_engines.add(engine)


def _record(row: CsatFeedbackRow) -> CsatRecord:
    return CsatRecord(
        feedback_id=row.feedback_id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        intent=row.intent,
        score=row.score,
        comment=row.comment,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlFeedbackStore(FeedbackStore):
    """CSAT records in SQL, through the process-wide engine of :mod:`frontline.db`.

    Nothing connects until the first operation.
    """

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def __repr__(self) -> str:
        url = sa.engine.make_url(self.database_url).render_as_string(hide_password=True)
        return f"SqlFeedbackStore({url!r})"

    def _engine(self) -> Engine:
        engine = get_engine(self.database_url)
        _ensure_table(engine)
        return engine

    def save(self, record: CsatRecord) -> CsatRecord:
        record.validate()
        try:
            self._engine()
            for _ in range(2):
                try:
                    return self._upsert(record)
                except sa.exc.IntegrityError:
                    # A concurrent first save of the same id won: update it instead.
                    logger.debug("CSAT record %s was inserted concurrently", record.feedback_id)
            return self._upsert(record)
        except sa.exc.SQLAlchemyError as exc:
            raise FeedbackError(f"could not save CSAT record {record.feedback_id}") from exc

    def _upsert(self, record: CsatRecord) -> CsatRecord:
        with session_scope(self.database_url) as session:
            row = session.get(CsatFeedbackRow, record.feedback_id, with_for_update=True)
            if row is None:
                row = CsatFeedbackRow(
                    feedback_id=record.feedback_id,
                    conversation_id=record.conversation_id,
                    channel=record.channel,
                    intent=record.intent,
                    score=record.score,
                    comment=record.comment,
                    created_at=record.created_at,
                    updated_at=record.updated_at,
                )
                session.add(row)
                session.flush()
            else:
                if record.score is not None:
                    row.score = record.score
                if record.comment:
                    row.comment = record.comment
                row.intent = row.intent or record.intent
                row.updated_at = record.updated_at
            return _record(row)

    def get(self, feedback_id: str) -> CsatRecord | None:
        try:
            self._engine()
            with session_scope(self.database_url) as session:
                row = session.get(CsatFeedbackRow, feedback_id)
                return _record(row) if row is not None else None
        except sa.exc.SQLAlchemyError as exc:
            raise FeedbackError(f"could not read CSAT record {feedback_id}") from exc

    def for_conversation(self, conversation_id: str) -> list[CsatRecord]:
        try:
            self._engine()
            with session_scope(self.database_url) as session:
                rows = session.execute(
                    sa.select(CsatFeedbackRow)
                    .where(CsatFeedbackRow.conversation_id == conversation_id)
                    .order_by(CsatFeedbackRow.created_at, CsatFeedbackRow.feedback_id)
                ).scalars()
                return [_record(row) for row in rows]
        except sa.exc.SQLAlchemyError as exc:
            raise FeedbackError(f"could not read CSAT records of {conversation_id}") from exc

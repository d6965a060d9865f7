"""CSAT records in the ``csat_feedback`` table (SQLite on a laptop, PostgreSQL in production).

One row per question answered, with plain columns (no JSON) so designers can query
it directly::

    SELECT intent, channel, avg(score), count(*) FROM csat_feedback GROUP BY 1, 2;
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator

import sqlalchemy as sa

from frontline.db import Base, UTCDateTime, ensure_tables, get_engine, session_scope
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
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False)


_table: sa.Table = CsatFeedbackRow.__table__
_RECORD_FIELDS = tuple(field.name for field in dataclasses.fields(CsatRecord))


def _record(row: CsatFeedbackRow) -> CsatRecord:
    return CsatRecord(**{name: getattr(row, name) for name in _RECORD_FIELDS})


class SqlFeedbackStore(FeedbackStore):
    """CSAT records in SQL, through the process-wide engine of :mod:`frontline.db`.

    Nothing connects until the first operation.
    """

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def __repr__(self) -> str:
        url = sa.engine.make_url(self.database_url).render_as_string(hide_password=True)
        return f"SqlFeedbackStore({url!r})"

    @contextlib.contextmanager
    def _using(self, failure: str) -> Iterator[None]:
        """Prepares the table; database errors become :class:`FeedbackError` (``failure``)."""
        try:
            ensure_tables(get_engine(self.database_url), [_table])
            yield
        except sa.exc.SQLAlchemyError as exc:
            raise FeedbackError(failure) from exc

    def save(self, record: CsatRecord) -> CsatRecord:
        record.validate()
        with self._using(f"could not save CSAT record {record.feedback_id}"):
            for _ in range(2):
                try:
                    return self._upsert(record)
                except sa.exc.IntegrityError:
                    # A concurrent first save of the same id won: update it instead.
                    logger.debug("CSAT record %s was inserted concurrently", record.feedback_id)
            return self._upsert(record)

    def _upsert(self, record: CsatRecord) -> CsatRecord:
        with session_scope(self.database_url) as session:
            row = session.get(CsatFeedbackRow, record.feedback_id, with_for_update=True)
            if row is None:
                row = CsatFeedbackRow(**dataclasses.asdict(record))
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
        with self._using(f"could not read CSAT record {feedback_id}"), session_scope(
            self.database_url
        ) as session:
            row = session.get(CsatFeedbackRow, feedback_id)
            return _record(row) if row is not None else None

    def for_conversation(self, conversation_id: str) -> list[CsatRecord]:
        query = (
            sa.select(CsatFeedbackRow)
            .where(CsatFeedbackRow.conversation_id == conversation_id)
            .order_by(CsatFeedbackRow.created_at, CsatFeedbackRow.feedback_id)
        )
        with self._using(f"could not read CSAT records of {conversation_id}"), session_scope(
            self.database_url
        ) as session:
            return [_record(row) for row in session.execute(query).scalars()]

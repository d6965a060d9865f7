"""The handoff queue in a SQL table (SQLite on a laptop, PostgreSQL in production).

All queues share one table, ``handoff_queue_entries``, told apart by ``queue_name``.
The packet is stored as JSON text so the table works unchanged on both databases.
State changes are single conditional ``UPDATE`` statements whose row count tells
whether they won, so two agents can never own the same entry.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
import weakref
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine

from frontline.db import Base, get_engine, session_scope
from frontline.errors import ConfigurationError, QueueError
from frontline.handoff.base import (
    CLAIMED,
    MAX_AGENT_ID_LENGTH,
    MAX_CONVERSATION_ID_LENGTH,
    MAX_HANDOFF_ID_LENGTH,
    MAX_RESOLUTION_CODE_LENGTH,
    PENDING,
    RESOLVED,
    HandoffQueue,
    QueueEntry,
    check_agent_id,
    check_limit,
    check_resolution_code,
    dump_packet,
    load_packet,
    packet_ids,
    transition_error,
    utcnow,
)

logger = logging.getLogger(__name__)

MAX_QUEUE_NAME_LENGTH = 100


class UTCDateTime(sa.types.TypeDecorator):
    """Stores aware datetimes as naive UTC and reads them back as aware UTC.

    SQLite keeps no time zone, so a plain ``DateTime(timezone=True)`` would come back
    naive there; this type gives the same aware values on every database.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class HandoffQueueRow(Base):
    """One entry of a handoff queue."""

    __tablename__ = "handoff_queue_entries"
    __table_args__ = (
        sa.UniqueConstraint("queue_name", "handoff_id", name="uq_handoff_queue_handoff"),
        sa.CheckConstraint(
            f"status IN ('{PENDING}', '{CLAIMED}', '{RESOLVED}')", name="ck_handoff_queue_status"
        ),
        sa.Index("ix_handoff_queue_status", "queue_name", "status", "id"),
        sa.Index("ix_handoff_queue_conversation", "queue_name", "conversation_id"),
    )

    # A plain INTEGER primary key is SQLite's auto-incrementing rowid; it orders entries.
    id = sa.Column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    entry_id = sa.Column(sa.String(32), nullable=False, unique=True)
    queue_name = sa.Column(sa.String(MAX_QUEUE_NAME_LENGTH), nullable=False)
    handoff_id = sa.Column(sa.String(MAX_HANDOFF_ID_LENGTH), nullable=False)
    conversation_id = sa.Column(sa.String(MAX_CONVERSATION_ID_LENGTH), nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default=PENDING)
    packet = sa.Column(sa.Text, nullable=False)
    enqueued_at = sa.Column(UTCDateTime, nullable=False)
    claimed_by = sa.Column(sa.String(MAX_AGENT_ID_LENGTH))
    claimed_at = sa.Column(UTCDateTime)
    resolved_at = sa.Column(UTCDateTime)
    resolution_code = sa.Column(sa.String(MAX_RESOLUTION_CODE_LENGTH))


_table: sa.Table = HandoffQueueRow.__table__

# Engines whose table we have checked; weak so disposed engines are forgotten.
_ready_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_ready_lock = threading.Lock()


def _ensure_table(engine: Engine) -> None:
    """Creates the table unless it exists (``get_engine`` only creates it once per URL,
    possibly before this module was imported)."""
    with _ready_lock:
        if engine in _ready_engines:
            return
        try:
            _table.create(engine, checkfirst=True)
        except sa.exc.DBAPIError:
            # Another process created it between the check and the CREATE.
            if not sa.inspect(engine).has_table(_table.name):
                raise
        _ready_engines.add(engine)


class SqlHandoffQueue(HandoffQueue):
    """A handoff queue in the ``handoff_queue_entries`` table.

    Nothing connects until the first operation. The engine is the process-wide one of
    :func:`frontline.db.get_engine`; :meth:`close` leaves it to other users.

    Args:
        database_url: SQLAlchemy URL of the database.
        queue_name: Name of the queue inside the table.

    Raises:
        ConfigurationError: The URL or the queue name is invalid.
    """

    def __init__(self, database_url: str, queue_name: str = "default") -> None:
        try:
            self._safe_url = sa.engine.make_url(database_url).render_as_string(hide_password=True)
        except sa.exc.ArgumentError as exc:
            raise ConfigurationError("invalid handoff queue database URL") from exc
        if not queue_name or len(queue_name) > MAX_QUEUE_NAME_LENGTH:
            raise ConfigurationError(
                f"handoff queue name must have 1 to {MAX_QUEUE_NAME_LENGTH} characters"
            )
        self._url = database_url
        self._queue_name = queue_name
        self._closed = False

    def __repr__(self) -> str:
        return f"SqlHandoffQueue({self._safe_url!r}, queue_name={self._queue_name!r})"

    @property
    def queue_name(self) -> str:
        """The queue's name inside the shared table."""
        return self._queue_name

    def enqueue(self, packet: dict[str, Any]) -> str:
        handoff_id, conversation_id = packet_ids(packet)
        text = dump_packet(packet)
        with self._translate("enqueuing a packet"):
            existing = self._entry_id_for(handoff_id)
            if existing is not None:
                logger.info("Handoff %s is already queued as %s", handoff_id, existing)
                return existing
            entry_id = uuid.uuid4().hex
            try:
                with session_scope(self._url) as session:
                    session.execute(
                        _table.insert().values(
                            entry_id=entry_id,
                            queue_name=self._queue_name,
                            handoff_id=handoff_id,
                            conversation_id=conversation_id,
                            status=PENDING,
                            packet=text,
                            enqueued_at=utcnow(),
                        )
                    )
            except sa.exc.IntegrityError:
                # A concurrent enqueue of the same handoff won the unique constraint.
                existing = self._entry_id_for(handoff_id)
                if existing is None:
                    raise
                logger.info("Handoff %s was queued concurrently as %s", handoff_id, existing)
                return existing
        logger.info(
            "Queued handoff %s of conversation %s as %s on %s",
            handoff_id,
            conversation_id,
            entry_id,
            self._queue_name,
        )
        return entry_id

    def pending(self, limit: int = 100) -> list[QueueEntry]:
        check_limit(limit)
        query = self._select().where(_table.c.status == PENDING).order_by(_table.c.id).limit(limit)
        return self._fetch(query, "listing pending entries")

    def get(self, entry_id: str) -> QueueEntry | None:
        entries = self._fetch(self._select().where(_table.c.entry_id == entry_id), "reading")
        return entries[0] if entries else None

    def find_by_conversation(self, conversation_id: str) -> list[QueueEntry]:
        query = (
            self._select().where(_table.c.conversation_id == conversation_id).order_by(_table.c.id)
        )
        return self._fetch(query, "finding a conversation's entries")

    def claim(self, entry_id: str, agent_id: str) -> QueueEntry:
        check_agent_id(agent_id)
        update = (
            sa.update(_table)
            .where(
                _table.c.entry_id == entry_id,
                _table.c.queue_name == self._queue_name,
                _table.c.status == PENDING,
            )
            .values(status=CLAIMED, claimed_by=agent_id, claimed_at=utcnow())
        )
        won, entry = self._transition(update, entry_id, "claiming an entry")
        if won and entry is not None:
            logger.info("Agent %s claimed handoff queue entry %s", agent_id, entry_id)
            return entry
        if entry is not None and entry.status == CLAIMED and entry.claimed_by == agent_id:
            return entry
        raise transition_error(entry, entry_id, agent_id)

    def resolve(self, entry_id: str, agent_id: str, resolution_code: str) -> QueueEntry:
        check_agent_id(agent_id)
        check_resolution_code(resolution_code)
        now = utcnow()
        update = (
            sa.update(_table)
            .where(
                _table.c.entry_id == entry_id,
                _table.c.queue_name == self._queue_name,
                sa.or_(
                    _table.c.status == PENDING,
                    sa.and_(_table.c.status == CLAIMED, _table.c.claimed_by == agent_id),
                ),
            )
            .values(
                status=RESOLVED,
                resolution_code=resolution_code,
                resolved_at=now,
                claimed_by=sa.func.coalesce(_table.c.claimed_by, agent_id),
                claimed_at=sa.func.coalesce(_table.c.claimed_at, now),
            )
        )
        won, entry = self._transition(update, entry_id, "resolving an entry")
        if won and entry is not None:
            logger.info(
                "Agent %s resolved handoff queue entry %s as %s",
                agent_id,
                entry_id,
                resolution_code,
            )
            return entry
        if (
            entry is not None
            and entry.status == RESOLVED
            and entry.claimed_by == agent_id
            and entry.resolution_code == resolution_code
        ):
            return entry
        raise transition_error(entry, entry_id, agent_id)

    def close(self) -> None:
        # The engine is shared by the whole process; frontline.db disposes of it.
        self._closed = True

    # -- helpers -------------------------------------------------------------------

    @contextlib.contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """Turns database errors into project errors and prepares the table."""
        if self._closed:
            raise QueueError(f"{self!r} is closed")
        try:
            _ensure_table(get_engine(self._url))
            yield
        except (sa.exc.ArgumentError, ImportError) as exc:  # unknown dialect, missing driver
            raise ConfigurationError(f"cannot use handoff queue database {self._safe_url}") from exc
        except sa.exc.SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            reason = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
            raise QueueError(
                f"handoff queue database {self._safe_url} failed while {action}: "
                f"{type(cause).__name__}: {reason}"
            ) from exc

    def _select(self) -> sa.sql.Select:
        return sa.select(_table).where(_table.c.queue_name == self._queue_name)

    def _entry_id_for(self, handoff_id: str) -> str | None:
        query = sa.select(_table.c.entry_id).where(
            _table.c.queue_name == self._queue_name, _table.c.handoff_id == handoff_id
        )
        with session_scope(self._url) as session:
            return session.execute(query).scalar_one_or_none()

    def _fetch(self, query: sa.sql.Select, action: str) -> list[QueueEntry]:
        with self._translate(action), session_scope(self._url) as session:
            rows = session.execute(query).mappings().all()
        return [_to_entry(row) for row in rows]

    def _transition(
        self, update: sa.sql.Update, entry_id: str, action: str
    ) -> tuple[bool, QueueEntry | None]:
        """Runs a conditional UPDATE; returns whether it changed the row, and the row."""
        with self._translate(action), session_scope(self._url) as session:
            won = session.execute(update).rowcount == 1
            row = (
                session.execute(self._select().where(_table.c.entry_id == entry_id))
                .mappings()
                .first()
            )
        return won, (_to_entry(row) if row is not None else None)


def _to_entry(row: Mapping[str, Any]) -> QueueEntry:
    return QueueEntry(
        entry_id=row["entry_id"],
        packet=load_packet(row["packet"], row["entry_id"]),
        status=row["status"],
        enqueued_at=row["enqueued_at"],
        claimed_by=row["claimed_by"],
        claimed_at=row["claimed_at"],
        resolved_at=row["resolved_at"],
        resolution_code=row["resolution_code"],
    )

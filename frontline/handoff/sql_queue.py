"""The handoff queue in a SQL table (SQLite on a laptop, PostgreSQL in production).

All queues share one table, ``handoff_queue_entries``, told apart by ``queue_name``.
The packet is stored as JSON text so the table works unchanged on both databases.
State changes are single conditional ``UPDATE`` statements, compiled from the
transition table (:mod:`frontline.handoff.transitions`), whose row count tells
whether they won, so two agents can never own the same entry, even when several
claim at once or one takes over an entry whose lease has just run out.

Leases are timestamps (``lease_expires_at``) written with this process's clock, so the
SQL queue is meant for one desk process (or desk processes with synchronised
clocks); :meth:`SqlHandoffQueue.deliver` re-offers the entries whose lease ran out.
Tables created by an earlier version get the lease and timing columns on first use.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from frontline.db import (
    Base,
    UTCDateTime,
    add_missing_columns,
    ensure_tables,
    get_engine,
    session_scope,
)
from frontline.errors import ConfigurationError, QueueError
from frontline.handoff import entry as queue_entry
from frontline.handoff.base import HandoffQueue
from frontline.handoff.entry import (
    CLAIMED,
    DEFAULT_LEASE_SECONDS,
    MAX_AGENT_ID_LENGTH,
    MAX_CONVERSATION_ID_LENGTH,
    MAX_HANDOFF_ID_LENGTH,
    MAX_RESOLUTION_CODE_LENGTH,
    PENDING,
    PRIORITY_ORDER,
    RESOLVED,
    Delivery,
    QueueEntry,
)
from frontline.handoff.transitions import (
    RENEW,
    REOFFER,
    Increment,
    Lease,
    Owner,
    Transition,
    Value,
)

logger = logging.getLogger(__name__)

MAX_QUEUE_NAME_LENGTH = 100


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
        sa.Index("ix_handoff_queue_order", "queue_name", "status", "priority_rank", "id"),
        sa.Index("ix_handoff_queue_owner", "queue_name", "claimed_by", "status"),
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
    # 0 (urgent) to 3 (low): the queue lists by priority, then by age (``id``).
    priority_rank = sa.Column(
        sa.SmallInteger, nullable=False, default=2, server_default=sa.text("2")
    )
    first_claimed_at = sa.Column(UTCDateTime)
    lease_expires_at = sa.Column(UTCDateTime)
    claims = sa.Column(sa.Integer, nullable=False, default=0, server_default=sa.text("0"))
    reoffers = sa.Column(sa.Integer, nullable=False, default=0, server_default=sa.text("0"))


_table: sa.Table = HandoffQueueRow.__table__

#: Columns added after the table's first version, with their DDL default.
_LATER_COLUMNS = ("priority_rank", "first_claimed_at", "lease_expires_at", "claims", "reoffers")


def _upgrade_table(engine: Engine) -> None:
    """Adds the lease and timing columns, and their indexes, to a table of the first version."""
    missing = add_missing_columns(engine, _table, _LATER_COLUMNS)
    if not missing:
        return
    for index in _table.indexes:
        index.create(engine, checkfirst=True)
    logger.info("Upgraded table %s: added %s", _table.name, ", ".join(missing))


class SqlHandoffQueue(HandoffQueue):
    """A handoff queue in the ``handoff_queue_entries`` table.

    Nothing connects until the first operation. The engine is the process-wide one of
    :func:`frontline.db.get_engine`; :meth:`close` leaves it to other users.

    Args:
        database_url: SQLAlchemy URL of the database.
        queue_name: Name of the queue inside the table.
        lease_seconds: How long a claim lasts without :meth:`renew`.
        clock: Returns the current time as an aware datetime (tests pass a fake one).

    Raises:
        ConfigurationError: The URL, the queue name or the lease is invalid.
    """

    def __init__(
        self,
        database_url: str,
        queue_name: str = "default",
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], datetime] = queue_entry.utcnow,
    ) -> None:
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
        self.lease_seconds = queue_entry.check_lease_seconds(lease_seconds)
        self._clock = clock
        self._closed = False

    def __repr__(self) -> str:
        return f"SqlHandoffQueue({self._safe_url!r}, queue_name={self._queue_name!r})"

    @property
    def queue_name(self) -> str:
        """The queue's name inside the shared table."""
        return self._queue_name

    def enqueue(self, packet: dict[str, Any]) -> str:
        handoff_id, conversation_id = queue_entry.packet_ids(packet)
        text = queue_entry.dump_packet(packet)
        with self._translate("enqueuing a packet"):
            existing = self._entry_id_for(handoff_id)
            if existing is not None:
                logger.info("Handoff %s is already queued as %s", handoff_id, existing)
                return existing
            # One open handoff per conversation (Rasa's lock serialises a conversation's turns).
            open_entry = self._open_entry_of(conversation_id)
            if open_entry is not None:
                logger.info(
                    "Conversation %s has handoff %s open: not queued again",
                    conversation_id,
                    open_entry,
                )
                return open_entry
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
                            enqueued_at=self._now(),
                            priority_rank=queue_entry.priority_rank(
                                queue_entry.packet_priority(packet)
                            ),
                            claims=0,
                            reoffers=0,
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
        queue_entry.check_limit(limit)
        query = self._ordered(self._select().where(_table.c.status == PENDING)).limit(limit)
        return self._fetch(query, "listing pending entries")

    def open_entries(self, limit: int = 200) -> list[QueueEntry]:
        queue_entry.check_limit(limit)
        query = self._select().where(_table.c.status.in_((PENDING, CLAIMED)))
        return self._fetch(self._ordered(query).limit(limit), "listing open entries")

    def held_by(self, agent_id: str) -> list[QueueEntry]:
        queue_entry.check_agent_id(agent_id)
        query = self._select().where(_table.c.status == CLAIMED, _table.c.claimed_by == agent_id)
        return self._fetch(self._ordered(query), "listing an agent's entries")

    def get(self, entry_id: str) -> QueueEntry | None:
        entries = self._fetch(self._select().where(_table.c.entry_id == entry_id), "reading")
        return entries[0] if entries else None

    def find_by_conversation(self, conversation_id: str) -> list[QueueEntry]:
        query = (
            self._select().where(_table.c.conversation_id == conversation_id).order_by(_table.c.id)
        )
        return self._fetch(query, "finding a conversation's entries")

    def renew(self, agent_id: str) -> list[QueueEntry]:
        queue_entry.check_agent_id(agent_id)
        now = self._now()
        owned = sa.and_(
            _table.c.queue_name == self._queue_name, self._may_start(RENEW, agent_id, now)
        )
        update = sa.update(_table).where(owned).values(**self._sets(RENEW, agent_id, None, now))
        with self._translate("renewing leases"), session_scope(self._url) as session:
            session.execute(update)
            rows = session.execute(self._ordered(sa.select(_table).where(owned))).mappings().all()
        return [_to_entry(row) for row in rows]

    def deliver(self, count: int = 100) -> Delivery:
        queue_entry.check_limit(count)
        now = self._now()
        lapsed = sa.and_(_table.c.queue_name == self._queue_name, self._may_start(REOFFER, "", now))
        candidates = sa.select(_table.c.entry_id).where(lapsed).order_by(_table.c.id).limit(count)
        reoffered: list[str] = []
        with self._translate("re-offering lapsed entries"), session_scope(self._url) as session:
            for entry_id in session.execute(candidates).scalars().all():
                # Each is its own conditional UPDATE: an owner renewing meanwhile wins.
                update = (
                    sa.update(_table)
                    .where(lapsed, _table.c.entry_id == entry_id)
                    .values(**self._sets(REOFFER, "", None, now))
                )
                if session.execute(update).rowcount == 1:
                    reoffered.append(entry_id)
        if reoffered:
            logger.info(
                "Re-offered %d handoff queue entries whose lease ran out: %s",
                len(reoffered),
                ", ".join(reoffered),
            )
        return Delivery(reoffered=tuple(reoffered))

    def close(self) -> None:
        # The engine is shared by the whole process; frontline.db disposes of it.
        self._closed = True

    # -- helpers -------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the handoff queue's clock must return aware datetimes")
        return now

    def _lease_end(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease_seconds)

    @staticmethod
    def _expired(now: datetime) -> sa.sql.ColumnElement:
        """The owner's lease has run out (a claimed row without one predates leases)."""
        return sa.or_(_table.c.lease_expires_at.is_(None), _table.c.lease_expires_at <= now)

    @classmethod
    def _may_start(cls, rule: Transition, agent_id: str, now: datetime) -> sa.sql.ColumnElement:
        """The rows in one of the states ``rule`` may start from, for ``agent_id``."""
        paths = []
        for start in rule.start:
            path = [_table.c.status == start.status]
            if start.owner is Owner.AGENT:
                path.append(_table.c.claimed_by == agent_id)
            elif start.owner is Owner.OTHER:
                path.append(_table.c.claimed_by != agent_id)
            if start.lease is Lease.EXPIRED:
                path.append(cls._expired(now))
            paths.append(sa.and_(*path))
        return sa.or_(*paths)

    def _sets(
        self, rule: Transition, agent_id: str, resolution_code: str | None, now: datetime
    ) -> dict[str, Any]:
        """What ``rule`` writes, as the ``SET`` of an ``UPDATE``.

        ``SET`` expressions see the row before the update, so an increment's condition
        reads the status the entry had.
        """
        values: dict[str, Any] = {"status": rule.to}
        for name, value in rule.sets:
            column = _table.c[name]
            if isinstance(value, Increment):
                step = (
                    1
                    if value.when_from is None
                    else sa.case((_table.c.status == value.when_from, 1), else_=0)
                )
                values[name] = column + step
            else:
                values[name] = {
                    Value.AGENT: agent_id,
                    Value.CODE: resolution_code,
                    Value.NOW: now,
                    Value.NOW_IF_UNSET: sa.func.coalesce(column, now),
                    Value.LEASE_END: self._lease_end(now),
                    Value.CLEAR: None,
                }[value]
        return values

    @staticmethod
    def _ordered(query: sa.sql.Select) -> sa.sql.Select:
        return query.order_by(_table.c.priority_rank, _table.c.id)

    @contextlib.contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """Turns database errors into project errors and prepares the table."""
        if self._closed:
            raise QueueError(f"{self!r} is closed")
        try:
            ensure_tables(get_engine(self._url), [_table], upgrade=_upgrade_table)
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

    def _open_entry_of(self, conversation_id: str) -> str | None:
        query = sa.select(_table.c.entry_id).where(
            _table.c.queue_name == self._queue_name,
            _table.c.conversation_id == conversation_id,
            _table.c.status.in_((PENDING, CLAIMED)),
        )
        with session_scope(self._url) as session:
            return session.execute(query.limit(1)).scalar_one_or_none()

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

    def _apply(
        self, rule: Transition, entry_id: str, agent_id: str, resolution_code: str | None
    ) -> tuple[bool, QueueEntry | None]:
        """One conditional ``UPDATE``: its row count tells whether the transition won."""
        now = self._now()
        update = (
            sa.update(_table)
            .where(
                _table.c.entry_id == entry_id,
                _table.c.queue_name == self._queue_name,
                self._may_start(rule, agent_id, now),
            )
            .values(**self._sets(rule, agent_id, resolution_code, now))
        )
        action = f"applying {rule.name!r} to an entry"
        with self._translate(action), session_scope(self._url) as session:
            won = session.execute(update).rowcount == 1
            row = (
                session.execute(self._select().where(_table.c.entry_id == entry_id))
                .mappings()
                .first()
            )
        return won, (_to_entry(row) if row is not None else None)


def _to_entry(row: Mapping[str, Any]) -> QueueEntry:
    rank = row.get("priority_rank")
    columns: dict[str, Any] = {name: row[name] for name in _PLAIN_COLUMNS}
    columns.update({name: row.get(name) for name in _LATER_TIMES})  # None on rows before leases
    return QueueEntry(
        **columns,
        packet=queue_entry.load_packet(row["packet"], row["entry_id"]),
        priority=PRIORITY_ORDER[rank] if isinstance(rank, int) and 0 <= rank < 4 else "normal",
        claims=int(row.get("claims") or 0),
        reoffers=int(row.get("reoffers") or 0),
    )


#: Columns read into a :class:`QueueEntry` as they are.
_PLAIN_COLUMNS = (
    "entry_id",
    "status",
    "enqueued_at",
    "claimed_by",
    "claimed_at",
    "resolved_at",
    "resolution_code",
)
_LATER_TIMES = ("first_claimed_at", "lease_expires_at")

"""Handoffs recorded while the human queue is unreachable, delivered once it is back.

When a turn fails because a dependency is down, or the handoff action cannot reach the
queue (Redis or the queue's database), the handoff's context packet is written here, in
Frontline's own database (``FRONTLINE_DATABASE_URL``: SQLite by default, PostgreSQL in
production), and the customer is told a person will help. :class:`OutboxDeliverer`, a
background task of the Rasa server and of the action server, offers every waiting packet
to the queue every ``OUTBOX_RETRY_SECONDS`` until the queue takes it. Delivery is safe
from any number of processes at once: the queue's ``enqueue`` is idempotent on the
packet's ``handoff_id`` and keeps one open handoff per conversation.

A conversation has at most one waiting handoff here: a customer who writes again during
an outage is given the same reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from frontline.db import Base, UTCDateTime, ensure_tables, get_engine
from frontline.errors import FrontlineError, QueueError
from frontline.handoff.base import HandoffQueue, run_blocking
from frontline.handoff.entry import MAX_CONVERSATION_ID_LENGTH, MAX_HANDOFF_ID_LENGTH

logger = logging.getLogger(__name__)

#: Most packets one delivery step offers to the queue.
DELIVERY_BATCH = 50


class OutboxError(FrontlineError):
    """The outbox's database could not be reached."""


class OutboxRow(Base):
    """One handoff waiting for the queue (or delivered to it)."""

    __tablename__ = "handoff_outbox"
    __table_args__ = (sa.Index("ix_handoff_outbox_waiting", "delivered_at", "created_at"),)

    id = sa.Column(sa.String(32), primary_key=True)
    conversation_id = sa.Column(sa.String(MAX_CONVERSATION_ID_LENGTH), nullable=False, index=True)
    handoff_id = sa.Column(sa.String(MAX_HANDOFF_ID_LENGTH), nullable=False)
    packet = sa.Column(sa.Text, nullable=False)
    #: What was down when the handoff was recorded (``action_server``, ``queue``, ...).
    cause = sa.Column(sa.String(200), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    last_error = sa.Column(sa.Text)
    delivered_at = sa.Column(UTCDateTime)
    entry_id = sa.Column(sa.String(64))


_table: sa.Table = OutboxRow.__table__


@dataclass(frozen=True)
class OutboxEntry:
    """A recorded handoff: its packet, why, and whether the queue has it yet."""

    outbox_id: str
    conversation_id: str
    handoff_id: str
    packet: dict[str, Any]
    cause: str
    created_at: datetime
    attempts: int
    last_error: str | None
    delivered_at: datetime | None
    entry_id: str | None

    @property
    def reference(self) -> str:
        """What the customer is told (as for a handoff queued directly)."""
        return reference(self.handoff_id)


def reference(handoff_id: str) -> str:
    """The reference a customer is given for a handoff (``HO-`` and 8 characters)."""
    return f"HO-{handoff_id[:8].upper()}"


class HandoffOutbox:
    """The outbox table in one database (see module).

    Args:
        database_url: SQLAlchemy URL (Frontline's own database).
    """

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        try:
            self._safe_url = sa.engine.make_url(database_url).render_as_string(hide_password=True)
        except sa.exc.ArgumentError:
            self._safe_url = "<invalid URL>"

    def __repr__(self) -> str:
        return f"HandoffOutbox({self._safe_url!r})"

    def add(self, packet: dict[str, Any], cause: str, now: datetime | None = None) -> OutboxEntry:
        """Records a handoff; returns the conversation's waiting one if it has one already.

        Raises:
            OutboxError: The database could not be reached.
        """
        now = now or datetime.now(timezone.utc)
        conversation_id = str(packet["conversation_id"])
        with self._connection("recording a handoff") as connection:
            waiting = connection.execute(
                sa.select(_table)
                .where(_table.c.conversation_id == conversation_id, _table.c.delivered_at.is_(None))
                .order_by(_table.c.created_at)
                .limit(1)
            ).first()
            if waiting is not None:
                return _entry(waiting)
            values = {
                "id": uuid.uuid4().hex,
                "conversation_id": conversation_id,
                "handoff_id": str(packet["handoff_id"]),
                "packet": json.dumps(packet, ensure_ascii=False),
                "cause": cause[:200],
                "created_at": now,
                "attempts": 0,
            }
            connection.execute(_table.insert().values(**values))
            row = connection.execute(sa.select(_table).where(_table.c.id == values["id"])).one()
        logger.warning(
            "Handoff of %s recorded in the outbox (%s); it goes to the queue once it answers",
            conversation_id,
            cause,
        )
        return _entry(row)

    def waiting(self, limit: int = DELIVERY_BATCH) -> list[OutboxEntry]:
        """The handoffs the queue does not have yet, oldest first."""
        with self._connection("listing waiting handoffs") as connection:
            rows = connection.execute(
                sa.select(_table)
                .where(_table.c.delivered_at.is_(None))
                .order_by(_table.c.created_at)
                .limit(limit)
            ).all()
        return [_entry(row) for row in rows]

    def of_conversation(self, conversation_id: str) -> list[OutboxEntry]:
        """Every handoff recorded for one conversation, oldest first."""
        with self._connection("reading a conversation's handoffs") as connection:
            rows = connection.execute(
                sa.select(_table)
                .where(_table.c.conversation_id == conversation_id)
                .order_by(_table.c.created_at)
            ).all()
        return [_entry(row) for row in rows]

    def mark_delivered(self, outbox_id: str, entry_id: str, now: datetime | None = None) -> None:
        """Notes that the queue took the handoff (as entry ``entry_id``)."""
        with self._connection("marking a handoff delivered") as connection:
            connection.execute(
                _table.update()
                .where(_table.c.id == outbox_id)
                .values(
                    delivered_at=now or datetime.now(timezone.utc),
                    entry_id=entry_id,
                    attempts=_table.c.attempts + 1,
                    last_error=None,
                )
            )

    def mark_failed(self, outbox_id: str, error: str) -> None:
        """Notes a failed delivery attempt (the handoff keeps waiting)."""
        with self._connection("noting a failed delivery") as connection:
            connection.execute(
                _table.update()
                .where(_table.c.id == outbox_id)
                .values(attempts=_table.c.attempts + 1, last_error=error[:1000])
            )

    def deliver(self, queue: HandoffQueue, limit: int = DELIVERY_BATCH) -> int:
        """Offers the waiting handoffs to ``queue``, oldest first; stops at the first
        queue failure (the queue is down: the rest wait for the next step).

        Returns:
            How many the queue took.

        Raises:
            OutboxError: The outbox's database could not be reached.
        """
        delivered = 0
        for entry in self.waiting(limit):
            try:
                entry_id = queue.enqueue(entry.packet)
            except QueueError as exc:
                self.mark_failed(entry.outbox_id, str(exc))
                logger.info("The queue does not take handoffs yet: %s", exc)
                break
            self.mark_delivered(entry.outbox_id, entry_id)
            delivered += 1
            logger.info(
                "Delivered the outbox's handoff of %s to the queue as %s",
                entry.conversation_id,
                entry_id,
            )
        return delivered

    @contextlib.contextmanager
    def _connection(self, action: str) -> Iterator[sa.engine.Connection]:
        try:
            engine = get_engine(self._url)
            ensure_tables(engine, [_table])
            with engine.begin() as connection:
                yield connection
        except (sa.exc.SQLAlchemyError, OSError) as exc:  # OSError: a SQLite file's folder
            cause = getattr(exc, "orig", None) or exc
            reason = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
            raise OutboxError(
                f"handoff outbox {self._safe_url} failed while {action}: "
                f"{type(cause).__name__}: {reason}"
            ) from exc


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        outbox_id=row.id,
        conversation_id=row.conversation_id,
        handoff_id=row.handoff_id,
        packet=json.loads(row.packet),
        cause=row.cause,
        created_at=row.created_at,
        attempts=row.attempts,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        entry_id=row.entry_id,
    )


class OutboxDeliverer:
    """Delivers the outbox to the queue every ``interval`` seconds, in the background.

    Args:
        outbox: The outbox.
        queue: Builds the queue on first use (so nothing connects before the loop runs).
        interval: Seconds between delivery steps.
    """

    def __init__(
        self, outbox: HandoffOutbox, queue: Callable[[], HandoffQueue], interval: float
    ) -> None:
        self.outbox = outbox
        self._queue_factory = queue
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        """Starts the loop on the running event loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return self._task

    async def stop(self) -> None:
        """Stops the loop."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def step(self) -> int:
        """One delivery step, off the event loop; 0 (logged) when the outbox is down."""
        try:
            return await run_blocking(self.outbox.deliver, self._queue_factory())
        except FrontlineError as exc:  # the outbox or the queue is down, or misconfigured
            logger.warning("Cannot deliver the handoff outbox now: %s", exc)
            return 0

    async def _run(self) -> None:
        while True:
            await self.step()
            await asyncio.sleep(self.interval)  # the retry period, not a synchronisation

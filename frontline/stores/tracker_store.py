"""Tracker store of the Rasa server (``endpoints.yml``: ``tracker_store``).

``NonBlockingSQLTrackerStore`` is Rasa's SQL tracker store, same tables, with its
database work moved off the event loop. A documented Rasa seam (``type:`` in
``endpoints.yml``), not a run-time patch. Imported by the Rasa server only (it imports
Rasa).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, ensure_schema_exists
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from frontline.db import create_indexes
from frontline.errors import ConfigurationError
from frontline.resilience.turn import TRACKER_STORE, notes_failures

logger = logging.getLogger(__name__)


@dataclass
class _ParkedTracker:
    """A tracker this process saved last, with the database state it matches."""

    tracker: DialogueStateTracker
    last_event_id: int  # highest row id of the conversation after the save
    stored_events: int  # events of the tracker that are stored (all of them)
    parked_at: float = 0.0  # time.monotonic() when it was parked


class NonBlockingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store, same tables, with the database work off the event loop.

    Rasa 3.6's ``SQLTrackerStore`` runs synchronous SQLAlchemy inside its ``async``
    methods, so every query and every commit (a PostgreSQL fsync) stops the whole Rasa
    server; with an event broker configured each ``save`` first loads and replays the
    whole stored tracker again to find the new events; and every message loads and
    replays the conversation from its rows. Profiling ``make bench`` put these at more
    than a third of the server's time. Here:

    * queries run in a worker thread, so the event loop keeps serving other customers;
    * ``save`` inserts the tracker's events beyond those stored (as Rasa's SQL store
      decides it) and publishes exactly those to the event broker, after the commit;
    * the tracker a message just saved is *parked* in memory with the conversation's
      highest event id. The next ``retrieve`` hands it over (and un-parks it) only if that
      id is still the highest in the database, one indexed query; otherwise (another
      Rasa instance or worker wrote meanwhile, the tracker was changed without a save,
      or it was evicted) the tracker is loaded from the rows as before. A tracker is
      never handed to two callers, and the database stays the only source of truth.

    ``endpoints.yml``: ``type: frontline.stores.NonBlockingSQLTrackerStore`` with the
    options of ``type: SQL``, plus ``parked_trackers`` (default 256, 0 turns parking off)
    and ``parked_seconds`` (default 300): a conversation quiet for longer is loaded from
    its rows when it resumes. Parking saves a load between a reply and the customer's
    next message; a tracker kept for a conversation that has ended only holds memory
    (the 20-minute soak grew 6.6% that way with 200-turn conversations).
    """

    @contextmanager
    def session_scope(self) -> Generator[Any, None, None]:
        """A session, as Rasa's, but one bad conversation cannot stop the server.

        Rasa's ``session_scope`` reads every ``ValueError`` inside the block as "the
        PostgreSQL schema is missing" and exits the process; a ``UnicodeEncodeError``
        (a lone surrogate in a sender id) or a driver's error on a NUL byte is a
        ``ValueError`` too. Only the schema check itself is a configuration error here;
        anything raised by the queries propagates to the message being handled.
        """
        session = self.sessionmaker()
        try:
            try:
                ensure_schema_exists(session)
            except ValueError as exc:
                raise ConfigurationError(
                    f"The PostgreSQL schema {exc} of the tracker store was not found."
                ) from exc
            yield session
        finally:
            session.close()

    def __init__(
        self,
        *args: Any,
        parked_trackers: int = 256,
        parked_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        create_indexes(self.engine, [self.sender_latest_event_index()])
        self.parked_trackers = int(parked_trackers)
        self.parked_seconds = float(parked_seconds)
        self._clock = clock
        self._parked: OrderedDict[str, _ParkedTracker] = OrderedDict()
        # Trackers handed out, until they come back through ``save``; bounded like the
        # parking, since a tracker that is only read (the HTTP API, the agent desk) never does.
        self._handed_out: OrderedDict[str, _ParkedTracker] = OrderedDict()

    @classmethod
    def sender_latest_event_index(cls) -> sa.Index:
        """The index that finds a conversation's latest event without reading the others.

        Rasa indexes ``events`` by ``sender_id`` alone, so ``max(id)`` for one sender
        (asked twice per message, see :meth:`_last_id_in`) reads every row of the
        conversation: 0.86 ms at turn 200 against 0.05 ms at turn 5, on PostgreSQL.
        With ``(sender_id, id)`` it is one step down the index at any length.
        """
        # On a copy of Rasa's table: an index made on the table itself would join its
        # metadata, and every later ``create_all`` of it, for the whole process.
        table = cls.SQLEvent.__table__.to_metadata(sa.MetaData())
        return sa.Index("ix_events_sender_id_id", table.c.sender_id, table.c.id)

    @notes_failures(TRACKER_STORE)  # Rasa falls back to an empty in-memory tracker
    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        parked = self._parked.pop(sender_id, None)
        if (
            parked is not None
            and len(parked.tracker.events) == parked.stored_events
            and not self._expired(parked)
        ):
            if await asyncio.to_thread(self._last_event_id, sender_id) == parked.last_event_id:
                self._hand_out(parked)
                return parked.tracker
        loaded = await asyncio.to_thread(self._load_tracker, sender_id, False)
        if loaded is None:
            self._handed_out.pop(sender_id, None)
            return None
        tracker, last_event_id = loaded
        # What is stored is known now too: the save after this message inserts without
        # counting the stored events again.
        self._hand_out(_ParkedTracker(tracker, last_event_id, len(tracker.events)))
        return tracker

    def _hand_out(self, parked: _ParkedTracker) -> None:
        if self.parked_trackers <= 0:
            return
        self._handed_out[parked.tracker.sender_id] = parked
        self._handed_out.move_to_end(parked.tracker.sender_id)
        while len(self._handed_out) > self.parked_trackers:
            self._handed_out.popitem(last=False)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        loaded = await asyncio.to_thread(self._load_tracker, conversation_id, True)
        return loaded[0] if loaded else None

    @notes_failures(TRACKER_STORE)
    async def save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        handed_out = self._handed_out.pop(sender_id, None)
        self._parked.pop(sender_id, None)
        known = handed_out if handed_out is not None and handed_out.tracker is tracker else None
        new_events, last_event_id = await asyncio.to_thread(self._store_new_events, tracker, known)
        self._park(tracker, new_events, last_event_id)
        if self.event_broker is not None and new_events:
            await self._stream_new_events(self.event_broker, new_events, sender_id)

    def _park(
        self, tracker: DialogueStateTracker, new_events: list[Event], last_event_id: int | None
    ) -> None:
        # A new session makes the stored session shorter than the tracker in memory: the
        # next message loads it from the rows, as a fresh server would.
        if (
            self.parked_trackers <= 0
            or last_event_id is None
            or any(isinstance(event, SessionStarted) for event in new_events)
        ):
            return
        self._parked[tracker.sender_id] = _ParkedTracker(
            tracker, last_event_id, len(tracker.events), self._clock()
        )
        # Oldest first: drop those over the count, then those parked too long ago.
        while self._parked and (
            len(self._parked) > self.parked_trackers
            or self._expired(next(iter(self._parked.values())))
        ):
            self._parked.popitem(last=False)

    def _expired(self, parked: _ParkedTracker) -> bool:
        return self._clock() - parked.parked_at > self.parked_seconds

    def _last_event_id(self, sender_id: str) -> int | None:
        with self.session_scope() as session:
            return self._last_id_in(session, sender_id)

    def _load_tracker(
        self, sender_id: str, all_sessions: bool
    ) -> tuple[DialogueStateTracker, int] | None:
        """The tracker from its rows, and the highest row id it was built from."""
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=all_sessions
            ).all()
            events = [json.loads(row.data) for row in rows]
        if not (self.domain and events):
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return tracker, max(row.id for row in rows)

    def _store_new_events(
        self, tracker: DialogueStateTracker, known: _ParkedTracker | None
    ) -> tuple[list[Event], int | None]:
        """Inserts the tracker's events not stored yet, in one transaction.

        Args:
            tracker: The tracker to save.
            known: What was stored when this very tracker was handed out, if it was.

        Returns:
            The new events, and the conversation's highest event id after the commit
            (None if that is unknown).
        """
        with self.session_scope() as session:
            if known is not None and self._last_id_in(session, tracker.sender_id) == (
                known.last_event_id
            ):
                new_events = list(tracker.events)[known.stored_events :]
            else:
                new_events = list(self._additional_events(session, tracker))
                known = None
            if new_events:
                rows = [self._row(tracker.sender_id, event) for event in new_events]
                last_event_id = self._insert(session, tracker.sender_id, rows)
            else:
                last_event_id = known.last_event_id if known is not None else None
            session.commit()
        return new_events, last_event_id

    def _insert(self, session: Any, sender_id: str, rows: list[dict[str, Any]]) -> int | None:
        """Inserts the rows in one statement; returns the conversation's highest id.

        Core rather than ORM objects: the unit of work cost twice the CPU of the
        insert itself. PostgreSQL returns the new ids of an executemany; elsewhere the
        highest id is read back in the same transaction (the lock store keeps other
        writers of this conversation out).
        """
        table = self.SQLEvent.__table__
        if getattr(session.get_bind().dialect, "insert_executemany_returning", False):
            ids = session.execute(table.insert().returning(table.c.id), rows).scalars().all()
            return max(ids)
        session.execute(table.insert(), rows)
        return self._last_id_in(session, sender_id)

    def _last_id_in(self, session: Any, sender_id: str) -> int | None:
        return (
            session.query(sa.func.max(self.SQLEvent.id))
            .filter(self.SQLEvent.sender_id == sender_id)
            .scalar()
        )

    @staticmethod
    def _row(sender_id: str, event: Event) -> dict[str, Any]:
        """The event's row, with the columns Rasa's SQL tracker store fills."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

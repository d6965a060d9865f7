"""A Rasa event broker that writes a decision record for every bot action to the audit trail.

``endpoints.yml``::

    event_broker:
      type: frontline.audit.broker.AuditEventBroker
      url: ${FRONTLINE_DATABASE_URL}

Rasa calls :meth:`AuditEventBroker.publish` synchronously, in its event loop, for each
new tracker event. Writing SQL there would stall every conversation, so ``publish``
only puts the event on a bounded queue; a background thread turns events into
decision records (:class:`~frontline.audit.decisions.DecisionBuilder`) and appends
them to the chain (:class:`~frontline.audit.store.AuditStore`) in batches.
:meth:`AuditEventBroker.close` (called when the Rasa server stops) writes what is
still queued before returning.

If the queue is full (the database is much slower than the conversations),
``publish`` waits up to ``put_timeout`` seconds and then drops the event with an
error in the log: the assistant keeps answering; :meth:`is_ready` turns false.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import queue
import threading
import time
from asyncio import AbstractEventLoop
from collections.abc import Mapping
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from frontline.audit.decisions import DecisionBuilder, default_thresholds
from frontline.audit.store import AuditStore, NewRecord
from frontline.errors import AuditError
from frontline.policy import policies
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

DECISION_KIND = "decision"
_STOP = object()


class AuditWriter:
    """The background thread: events in, decision records appended to the chain.

    Args:
        store: Where records go.
        builder: Turns events into decisions.
        queue_size: Events waiting at most; ``publish`` waits when it is full.
        idle_seconds: A conversation quiet for this long has its last decision written
            (a paused conversation has no next action to complete it).
        batch_size: Most records appended in one transaction.
        put_timeout: Seconds ``publish`` waits on a full queue before dropping the event.
        batch_window: Seconds the writer keeps collecting events after the first one of
            a batch. Under load events arrive one at a time; a transaction per event
            (each a commit, four statements) cost the Rasa server 8% of its CPU.
    """

    def __init__(
        self,
        store: AuditStore,
        builder: DecisionBuilder,
        *,
        queue_size: int = 10_000,
        idle_seconds: float = 0.5,
        batch_size: int = 200,
        put_timeout: float = 2.0,
        batch_window: float = 0.05,
    ) -> None:
        self.store = store
        self.builder = builder
        self.idle_seconds = idle_seconds
        self.batch_size = batch_size
        self.put_timeout = put_timeout
        self.batch_window = batch_window
        self.dropped = 0
        self.failed = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name="frontline-audit", daemon=True)
        self._stopped = threading.Event()
        self._thread.start()

    def put(self, event: Mapping[str, Any]) -> None:
        """Queues one event (waits up to ``put_timeout`` if the queue is full)."""
        try:
            self._queue.put(dict(event), timeout=self.put_timeout)
        except queue.Full:
            self.dropped += 1
            logger.error(
                "Audit queue full: dropped an event of conversation %s (%d dropped so far)",
                event.get("sender_id"),
                self.dropped,
            )

    @property
    def healthy(self) -> bool:
        return self._thread.is_alive() and not self.dropped and not self.failed

    def stop(self, timeout: float = 30.0) -> None:
        """Writes everything queued, then stops the thread."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("The audit writer did not finish within %.0f s", timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            records: list[dict[str, Any]] = []
            try:
                item = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                item = None
            window_ends = time.monotonic() + self.batch_window
            while item is not None:
                if item is _STOP:
                    stopping = True
                    break
                records += self.builder.add(item, time.monotonic())
                if len(records) >= self.batch_size:
                    break
                item = self._next_in_window(window_ends)
            if stopping:
                records += self.builder.flush()
            else:
                records += self.builder.flush(idle_before=time.monotonic() - self.idle_seconds)
            self._write(records)
        # Anything that arrived after the stop marker.
        leftovers: list[dict[str, Any]] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                leftovers += self.builder.add(item, time.monotonic())
        self._write(leftovers + self.builder.flush())

    def _next_in_window(self, window_ends: float) -> Any:
        """The next queued event if one arrives before ``window_ends``, else None."""
        try:
            remaining = window_ends - time.monotonic()
            if remaining > 0:
                return self._queue.get(timeout=remaining)
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def _write(self, decisions: list[dict[str, Any]]) -> None:
        for start in range(0, len(decisions), self.batch_size):
            batch = decisions[start : start + self.batch_size]
            records = [
                NewRecord(DECISION_KIND, decision, decision.get("conversation_id"))
                for decision in batch
            ]
            try:
                self.store.append(records)
            except (AuditError, ValueError) as exc:
                self.failed += len(records)
                logger.error("Could not write %d audit records: %s", len(records), exc)


class AuditEventBroker(EventBroker):
    """Rasa event broker writing decision records to Frontline's audit trail."""

    def __init__(self, writer: AuditWriter) -> None:
        self.writer = writer
        atexit.register(writer.stop)

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig,
        event_loop: AbstractEventLoop | None = None,
    ) -> AuditEventBroker:
        """Builds the broker from ``endpoints.yml``.

        ``url`` (default: ``FRONTLINE_DATABASE_URL``), optional ``chain`` (default:
        ``FRONTLINE_AUDIT_CHAIN``), ``queue_size``, ``idle_seconds`` and ``batch_window``. Loads the
        policies first: a broken policy stops the Rasa server here.
        """
        settings = get_settings()
        kwargs = broker_config.kwargs or {}
        rules = policies()
        store = AuditStore(
            broker_config.url or settings.database_url,
            str(kwargs.get("chain") or settings.audit_chain),
            data_handling=rules.data_handling,
        )
        store.head()  # fails now, at start-up, if the database cannot be reached
        builder = DecisionBuilder(
            default_thresholds(), rules.versions, data_handling=rules.data_handling
        )
        writer = AuditWriter(
            store,
            builder,
            queue_size=int(kwargs.get("queue_size", 10_000)),
            idle_seconds=float(kwargs.get("idle_seconds", 0.5)),
            batch_window=float(kwargs.get("batch_window", 0.05)),
        )
        logger.info("Audit trail: %r", store)
        return cls(writer)

    def publish(self, event: dict[str, Any]) -> None:
        """Queues the event for the audit writer (never touches the database)."""
        self.writer.put(event)

    def is_ready(self) -> bool:
        return self.writer.healthy

    async def close(self) -> None:
        """Writes what is still queued, off the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.writer.stop)

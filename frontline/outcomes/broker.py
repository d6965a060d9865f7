"""A Rasa event broker that keeps an outcome record per contact, off the turn's path.

``endpoints.yml`` (next to the audit broker, through :mod:`frontline.event_brokers`)::

    event_broker:
      type: frontline.event_brokers.FanOutEventBroker
      brokers:
        - type: frontline.audit.broker.AuditEventBroker
        - type: frontline.outcomes.broker.OutcomeEventBroker
          tier_source: crm

Rasa calls :meth:`OutcomeEventBroker.publish` in its event loop for each new tracker
event; ``publish`` only puts the event on a bounded queue (a few microseconds). A
background thread (:class:`OutcomeWriter`) takes what arrived within ``batch_window``
seconds (1 s), hands it to :class:`~frontline.outcomes.processor.OutcomeProcessor` and, when
idle, runs its housekeeping (abandoned contacts, open escalations, SLOs). A full queue
(the database far slower than the conversations) drops the event with an error in the
log, never the turn; the records are rebuilt from the tracker store with
``python -m frontline.outcomes rebuild``.
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

from frontline.outcomes.factory import processor_from_settings
from frontline.outcomes.processor import OutcomeProcessor
from frontline.outcomes.store import OutcomeStoreError
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

_STOP = object()


class OutcomeWriter:
    """The background thread: events in, outcome records saved in batches.

    Args:
        processor: Folds and saves.
        queue_size: Events waiting at most.
        batch_window: Seconds the writer keeps collecting after the first event of a
            batch: one read and one transaction per batch, not per event (a record is
            at most this late; fewer, larger batches cost the server less CPU).
        batch_size: Most events in one batch.
        idle_seconds: How long the writer waits for events before housekeeping.
        put_timeout: Seconds ``put`` waits on a full queue before dropping the event.
    """

    def __init__(
        self,
        processor: OutcomeProcessor,
        *,
        queue_size: int = 20_000,
        batch_window: float = 1.0,
        batch_size: int = 1_000,
        idle_seconds: float = 1.0,
        put_timeout: float = 0.5,
    ) -> None:
        self.processor = processor
        self.batch_window = batch_window
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.put_timeout = put_timeout
        self.dropped = 0
        self.failed = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._stopped = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frontline-outcomes", daemon=True)
        self._thread.start()

    def put(self, event: Mapping[str, Any]) -> None:
        """Queues one event (waits up to ``put_timeout`` if the queue is full)."""
        self._idle.clear()
        try:
            self._queue.put(event, timeout=self.put_timeout)
        except queue.Full:
            self.dropped += 1
            logger.error(
                "Outcome queue full: dropped an event of conversation %s (%d dropped so far)",
                event.get("sender_id"),
                self.dropped,
            )

    @property
    def healthy(self) -> bool:
        return self._thread.is_alive() and not self.dropped

    def wait_idle(self, timeout: float) -> bool:
        """Blocks until everything queued so far is saved (tests, benchmarks)."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Saves everything queued, then stops the thread."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("The outcome writer did not finish within %.0f s", timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[Any] = []
            try:
                item = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                item = None
            window_ends = time.monotonic() + self.batch_window
            while item is not None:
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
                if len(batch) >= self.batch_size:
                    break
                item = self._next_in_window(window_ends)
            self._process(batch)
            if self._queue.empty():
                self._housekeeping()
                self._idle.set()
        leftovers = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                leftovers.append(item)
        self._process(leftovers)
        self._idle.set()

    def _next_in_window(self, window_ends: float) -> Any:
        try:
            remaining = window_ends - time.monotonic()
            if remaining > 0:
                return self._queue.get(timeout=remaining)
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def _process(self, batch: list[Any]) -> None:
        if not batch:
            return
        try:
            self.processor.process(batch)
        except OutcomeStoreError as exc:
            self.failed += len(batch)
            logger.error("Could not save the outcomes of %d events: %s", len(batch), exc)
        except Exception:  # noqa: BLE001 - the thread must outlive one bad batch
            self.failed += len(batch)
            logger.exception("Folding %d events into outcome records failed", len(batch))

    def _housekeeping(self) -> None:
        try:
            self.processor.housekeeping()
        except Exception:  # noqa: BLE001 - the thread must outlive one bad round
            logger.exception("Outcome housekeeping failed")


class OutcomeEventBroker(EventBroker):
    """Rasa event broker keeping Frontline's outcome records."""

    def __init__(self, writer: OutcomeWriter) -> None:
        self.writer = writer
        atexit.register(writer.stop)

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig,
        event_loop: AbstractEventLoop | None = None,
    ) -> OutcomeEventBroker:
        """Builds the broker from ``endpoints.yml``.

        ``url`` (default ``FRONTLINE_DATABASE_URL``), ``tier_source`` (``crm`` or
        ``none``), ``batch_window``, ``queue_size``. Loads the policy modules first (a
        broken one stops the Rasa server here) and reaches the database once.
        """
        kwargs = broker_config.kwargs or {}
        processor = processor_from_settings(
            get_settings(),
            database_url=broker_config.url or None,
            tier_source=str(kwargs.get("tier_source") or "crm"),
        )
        processor.store.latest_states([])  # fails now, at start-up, without a database
        writer = OutcomeWriter(
            processor,
            queue_size=int(kwargs.get("queue_size", 20_000)),
            batch_window=float(kwargs.get("batch_window", 1.0)),
        )
        logger.info("Outcome records: %r", processor.store)
        return cls(writer)

    def publish(self, event: dict[str, Any]) -> None:
        """Queues the event for the outcome writer (never touches the database)."""
        self.writer.put(event)

    def is_ready(self) -> bool:
        return self.writer.healthy

    async def close(self) -> None:
        """Saves what is still queued, off the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.writer.stop)

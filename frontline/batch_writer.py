"""The background writer behind Frontline's event brokers (audit trail, outcome records).

Rasa calls an event broker's ``publish`` synchronously in its event loop for every new
tracker event. Writing SQL there would stall every conversation, so ``publish`` only
puts the event on a bounded queue; a thread takes what arrives within ``batch_window``
seconds and hands it to :meth:`BatchingWriter.handle` in one batch (one transaction per
batch, not per event: under load a commit per event cost the Rasa server 8% of its CPU).
A full queue (the database far slower than the conversations) drops the event with an
error in the log, never the turn.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from rasa.core.brokers.broker import EventBroker

logger = logging.getLogger(__name__)

_STOP = object()


class BatchingWriter(ABC):
    """A thread that takes events from a bounded queue and handles them in batches.

    Args:
        name: What is written, for the thread's name and the log ("audit", "outcome").
        queue_size: Events waiting at most.
        batch_window: Seconds the writer keeps collecting after the first event of a batch.
        batch_size: Most events in one batch.
        idle_seconds: How long the writer waits for an event before an idle round.
        put_timeout: Seconds ``put`` waits on a full queue before dropping the event.
    """

    def __init__(
        self,
        name: str,
        *,
        queue_size: int,
        batch_window: float,
        batch_size: int,
        idle_seconds: float,
        put_timeout: float,
    ) -> None:
        self.name = name
        self.batch_window = batch_window
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.put_timeout = put_timeout
        self.dropped = 0
        self.failed = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._stopped = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"frontline-{name}", daemon=True)

    def start(self) -> None:
        """Starts the thread (subclasses call it once their own state is set)."""
        self._thread.start()

    @abstractmethod
    def handle(self, batch: list[dict[str, Any]], *, final: bool) -> None:
        """Writes one batch (possibly empty: an idle round). ``final``: the writer stops."""

    def on_idle(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Runs when the queue is empty after a batch (housekeeping)."""

    def put(self, event: Mapping[str, Any]) -> None:
        """Queues one event (waits up to ``put_timeout`` if the queue is full)."""
        self._idle.clear()
        try:
            self._queue.put(dict(event), timeout=self.put_timeout)
        except queue.Full:
            self.dropped += 1
            logger.error(
                "%s queue full: dropped an event of conversation %s (%d dropped so far)",
                self.name.capitalize(),
                event.get("sender_id"),
                self.dropped,
            )

    @property
    def healthy(self) -> bool:
        return self._thread.is_alive() and not self.dropped

    def wait_idle(self, timeout: float) -> bool:
        """Blocks until everything queued so far is handled (tests, benchmarks)."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Handles everything queued, then stops the thread."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("The %s writer did not finish within %.0f s", self.name, timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[dict[str, Any]] = []
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
            if stopping:
                batch += self._drain()
            self._handle_safely(batch, final=stopping)
            if not stopping and self._queue.empty():
                self.on_idle()
                self._idle.set()
        self._idle.set()

    def _handle_safely(self, batch: list[dict[str, Any]], *, final: bool) -> None:
        try:
            self.handle(batch, final=final)
        except Exception:  # noqa: BLE001 - the thread must outlive one bad batch
            self.failed += len(batch)
            logger.exception("Writing %d %s events failed", len(batch), self.name)

    def _drain(self) -> list[dict[str, Any]]:
        """Everything still queued (after the stop marker, too)."""
        leftovers: list[dict[str, Any]] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return leftovers
            if item is not _STOP:
                leftovers.append(item)

    def _next_in_window(self, window_ends: float) -> Any:
        """The next queued event if one arrives before ``window_ends``, else None."""
        try:
            remaining = window_ends - time.monotonic()
            if remaining > 0:
                return self._queue.get(timeout=remaining)
            return self._queue.get_nowait()
        except queue.Empty:
            return None


class QueueingEventBroker(EventBroker):
    """A Rasa event broker whose ``publish`` only queues for a :class:`BatchingWriter`."""

    def __init__(self, writer: BatchingWriter) -> None:
        self.writer = writer
        atexit.register(writer.stop)

    def publish(self, event: dict[str, Any]) -> None:
        """Queues the event for the writer (never touches the database)."""
        self.writer.put(event)

    def is_ready(self) -> bool:
        return self.writer.healthy

    async def close(self) -> None:
        """Handles what is still queued, off the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.writer.stop)

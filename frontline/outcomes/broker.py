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

import logging
from asyncio import AbstractEventLoop
from typing import Any

from rasa.utils.endpoints import EndpointConfig

from frontline.batch_writer import BatchingWriter, QueueingEventBroker
from frontline.outcomes.factory import processor_from_settings
from frontline.outcomes.processor import OutcomeProcessor
from frontline.outcomes.store import OutcomeStoreError
from frontline.settings import get_settings

logger = logging.getLogger(__name__)


class OutcomeWriter(BatchingWriter):
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
        super().__init__(
            "outcome",
            queue_size=queue_size,
            batch_window=batch_window,
            batch_size=batch_size,
            idle_seconds=idle_seconds,
            put_timeout=put_timeout,
        )
        self.processor = processor
        self.start()

    def handle(self, batch: list[dict[str, Any]], *, final: bool) -> None:
        if not batch:
            return
        try:
            self.processor.process(batch)
        except OutcomeStoreError as exc:
            self.failed += len(batch)
            logger.error("Could not save the outcomes of %d events: %s", len(batch), exc)

    def on_idle(self) -> None:
        try:
            self.processor.housekeeping()
        except Exception:  # noqa: BLE001 - the thread must outlive one bad round
            logger.exception("Outcome housekeeping failed")


class OutcomeEventBroker(QueueingEventBroker):
    """Rasa event broker keeping Frontline's outcome records."""

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

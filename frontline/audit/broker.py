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

import logging
import time
from asyncio import AbstractEventLoop
from typing import Any

from rasa.utils.endpoints import EndpointConfig

from frontline.audit.decisions import DecisionBuilder, default_thresholds
from frontline.audit.store import AuditStore, NewRecord
from frontline.batch_writer import BatchingWriter, QueueingEventBroker
from frontline.errors import AuditError
from frontline.policy import policies
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

DECISION_KIND = "decision"


class AuditWriter(BatchingWriter):
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
        super().__init__(
            "audit",
            queue_size=queue_size,
            batch_window=batch_window,
            batch_size=batch_size,
            idle_seconds=idle_seconds,
            put_timeout=put_timeout,
        )
        self.store = store
        self.builder = builder
        self.start()

    @property
    def healthy(self) -> bool:
        return super().healthy and not self.failed

    def handle(self, batch: list[dict[str, Any]], *, final: bool) -> None:
        now = time.monotonic()
        decisions = [decision for event in batch for decision in self.builder.add(event, now)]
        if final:
            decisions += self.builder.flush()
        else:
            decisions += self.builder.flush(idle_before=now - self.idle_seconds)
        self._write(decisions)

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


class AuditEventBroker(QueueingEventBroker):
    """Rasa event broker writing decision records to Frontline's audit trail."""

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

"""One Rasa event broker that hands every event to several (the audit trail, outcomes).

The Rasa server takes one ``event_broker`` in ``endpoints.yml``; this composes
others, each configured as it would be on its own::

    event_broker:
      type: frontline.event_brokers.FanOutEventBroker
      brokers:
        - type: frontline.audit.broker.AuditEventBroker
        - type: frontline.outcomes.broker.OutcomeEventBroker
          tier_source: crm

A broker that cannot be built stops the Rasa server (Rasa itself would only log a
warning and run without it). ``publish`` calls each broker's ``publish`` in turn, so
each must be as quick as ours are (they only queue the event); one that raises is
logged and does not keep the event from the others.
"""

from __future__ import annotations

import logging
from asyncio import AbstractEventLoop
from collections.abc import Mapping, Sequence
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from frontline.errors import ConfigurationError

logger = logging.getLogger(__name__)


class FanOutEventBroker(EventBroker):
    """Publishes every event to each of its brokers."""

    def __init__(self, brokers: Sequence[EventBroker]) -> None:
        self.brokers = list(brokers)

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig,
        event_loop: AbstractEventLoop | None = None,
    ) -> FanOutEventBroker:
        """Builds each broker of ``brokers`` (a list of broker configurations).

        Raises:
            ConfigurationError: ``brokers`` is missing or empty, or one of them cannot be
                built.
        """
        specs = (broker_config.kwargs or {}).get("brokers")
        if not isinstance(specs, list) or not specs:
            raise ConfigurationError("the fan-out event broker needs a list of 'brokers'")
        brokers: list[EventBroker] = []
        for index, spec in enumerate(specs):
            if not isinstance(spec, Mapping) or not spec.get("type"):
                raise ConfigurationError(f"event broker {index} needs a 'type'")
            broker = await EventBroker.create(EndpointConfig.from_dict(dict(spec)), event_loop)
            if broker is None:
                raise ConfigurationError(f"event broker {spec['type']!r} could not be built")
            brokers.append(broker)
        logger.info("Event brokers: %s", ", ".join(type(b).__name__ for b in brokers))
        return cls(brokers)

    def publish(self, event: dict[str, Any]) -> None:
        for broker in self.brokers:
            try:
                broker.publish(event)
            except Exception:  # noqa: BLE001 - one broker must not starve the others
                logger.exception("Event broker %s failed to publish", type(broker).__name__)

    def is_ready(self) -> bool:
        return all(broker.is_ready() for broker in self.brokers)

    async def close(self) -> None:
        for broker in self.brokers:
            await broker.close()

"""The human handoff queue: the interface, its implementations and the factory.

Usage::

    from frontline.handoff.queue import create_from_settings

    with create_from_settings(get_settings()) as queue:
        entry_id = queue.enqueue(packet)

``create`` picks the implementation from a config mapping:

* ``{"type": "sql", "url": "postgresql://...", "queue_name": "default"}``
* ``{"type": "redis", "url": "redis://...", "stream": "frontline:handoffs"}``

Both take ``lease_seconds``: how long an agent's claim lasts without a heartbeat.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from frontline.backends import backend_type, backend_url
from frontline.errors import ConfigurationError
from frontline.handoff.base import HandoffQueue
from frontline.handoff.entry import (
    AlreadyClaimed,
    AlreadyResolved,
    Delivery,
    EntryNotFound,
    EntryStatus,
    NotOwner,
    QueueEntry,
)
from frontline.handoff.redis_queue import DEFAULT_STREAM, RedisStreamHandoffQueue
from frontline.handoff.sql_queue import SqlHandoffQueue
from frontline.settings import Settings

__all__ = [
    "AlreadyClaimed",
    "AlreadyResolved",
    "Delivery",
    "EntryNotFound",
    "EntryStatus",
    "HandoffQueue",
    "NotOwner",
    "QueueEntry",
    "RedisStreamHandoffQueue",
    "SqlHandoffQueue",
    "create",
    "create_from_settings",
]

logger = logging.getLogger(__name__)

QUEUE_TYPES = ("sql", "redis")


def create(config: Mapping[str, Any]) -> HandoffQueue:
    """Builds a handoff queue from a config mapping.

    Args:
        config: ``type`` (``sql`` or ``redis``) and ``url``; optionally ``lease_seconds``,
            ``queue_name`` (sql), ``stream`` and ``timeout`` (redis).

    Returns:
        A queue that has not connected yet.

    Raises:
        ConfigurationError: The type is unknown, or the URL, the lease or the timeout
            is missing or invalid.
    """
    queue_type = backend_type(config, QUEUE_TYPES, "handoff queue")
    url = backend_url(config, queue_type, "handoff queue")
    kwargs: dict[str, Any] = {}
    if config.get("lease_seconds") is not None:
        kwargs["lease_seconds"] = _number(config, "lease_seconds", queue_type)
    queue: HandoffQueue
    if queue_type == "sql":
        queue = SqlHandoffQueue(url, queue_name=config.get("queue_name") or "default", **kwargs)
    else:
        if config.get("timeout") is not None:
            kwargs["timeout"] = _number(config, "timeout", queue_type)
        queue = RedisStreamHandoffQueue(
            url, stream=config.get("stream") or DEFAULT_STREAM, **kwargs
        )
    logger.debug("Created handoff queue %r", queue)
    return queue


def _number(config: Mapping[str, Any], key: str, queue_type: str) -> float:
    try:
        return float(config[key])
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"the {queue_type} handoff queue {key!r} must be a number"
        ) from exc


def create_from_settings(settings: Settings) -> HandoffQueue:
    """Builds the handoff queue the settings ask for.

    Raises:
        ConfigurationError: ``handoff_queue`` is unknown, or it is ``redis`` and no
            ``redis_url`` is set.
    """
    lease = settings.handoff_lease_seconds
    if settings.handoff_queue == "redis":
        if not settings.redis_url:
            raise ConfigurationError("HANDOFF_QUEUE is 'redis' but REDIS_URL is not set")
        return create(
            {
                "type": "redis",
                "url": settings.redis_url,
                "stream": settings.redis_stream,
                "lease_seconds": lease,
            }
        )
    return create(
        {"type": settings.handoff_queue, "url": settings.database_url, "lease_seconds": lease}
    )

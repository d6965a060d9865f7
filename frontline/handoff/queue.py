"""The human handoff queue: the interface, its implementations and the factory.

Usage::

    from frontline.handoff.queue import create_from_settings

    with create_from_settings(get_settings()) as queue:
        entry_id = queue.enqueue(packet)

``create`` picks the implementation from a config mapping:

* ``{"type": "sql", "url": "postgresql://...", "queue_name": "default"}``
* ``{"type": "redis", "url": "redis://...", "stream": "frontline:handoffs"}``
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from frontline.errors import ConfigurationError
from frontline.handoff.base import (
    AlreadyClaimed,
    AlreadyResolved,
    EntryNotFound,
    EntryStatus,
    HandoffQueue,
    QueueEntry,
)
from frontline.handoff.redis_queue import DEFAULT_STREAM, RedisStreamHandoffQueue
from frontline.handoff.sql_queue import SqlHandoffQueue
from frontline.settings import Settings

__all__ = [
    "AlreadyClaimed",
    "AlreadyResolved",
    "EntryNotFound",
    "EntryStatus",
    "HandoffQueue",
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
        config: ``type`` (``sql`` or ``redis``) and ``url``; optionally ``queue_name``
            (sql), ``stream`` and ``timeout`` (redis).

    Returns:
        A queue that has not connected yet.

    Raises:
        ConfigurationError: The type is unknown, or the URL is missing or invalid.
    """
    queue_type = config.get("type")
    if queue_type not in QUEUE_TYPES:
        raise ConfigurationError(
            f"unknown handoff queue type {queue_type!r}; expected one of {', '.join(QUEUE_TYPES)}"
        )
    url = config.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"the {queue_type} handoff queue needs a 'url'")
    queue: HandoffQueue
    if queue_type == "sql":
        queue = SqlHandoffQueue(url, queue_name=config.get("queue_name") or "default")
    else:
        kwargs: dict[str, Any] = {}
        if config.get("timeout") is not None:
            try:
                kwargs["timeout"] = float(config["timeout"])
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(
                    "the redis handoff queue 'timeout' must be a number"
                ) from exc
        queue = RedisStreamHandoffQueue(
            url, stream=config.get("stream") or DEFAULT_STREAM, **kwargs
        )
    logger.debug("Created handoff queue %r", queue)
    return queue


def create_from_settings(settings: Settings) -> HandoffQueue:
    """Builds the handoff queue the settings ask for.

    Raises:
        ConfigurationError: ``handoff_queue`` is unknown, or it is ``redis`` and no
            ``redis_url`` is set.
    """
    if settings.handoff_queue == "redis":
        if not settings.redis_url:
            raise ConfigurationError("HANDOFF_QUEUE is 'redis' but REDIS_URL is not set")
        return create(
            {
                "type": "redis",
                "url": settings.redis_url,
                "stream": settings.redis_stream,
            }
        )
    return create({"type": settings.handoff_queue, "url": settings.database_url})

"""What the channels remember between requests: deliveries seen, and where to reply.

Slack delivers an event again when it thinks the first delivery failed, and an agent's
reply (sent through Rasa's API, outside any request) needs the Slack channel and
thread the customer last wrote in. Both are short-lived keys with an expiry, kept in
this store:

* :class:`MemoryChannelStore`: in the Rasa server's process; right for one server
  (the same limit as Rasa's in-memory lock store).
* :class:`RedisChannelStore`: shared by every Rasa server; chosen when ``REDIS_URL``
  is set, like the lock store and the handoff queue.

Use :func:`create` (or :func:`create_from_settings`) rather than the classes.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import redis
import redis.asyncio as aioredis

from frontline.channels.backing import LoopBoundRedis, config_from_settings, create_backend
from frontline.errors import ChannelStoreError, ConfigurationError
from frontline.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "frontline:channels:"
DEFAULT_MAX_ENTRIES = 100_000


class ChannelStore(ABC):
    """Keys with an expiry: claim a key once, or keep a small value under it."""

    @abstractmethod
    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """Marks ``key`` as seen for ``ttl_seconds``.

        Returns:
            True for the first claim of the key while it lives, False after that
            (also for a concurrent claim: exactly one caller gets True).

        Raises:
            ChannelStoreError: The store could not answer.
        """

    @abstractmethod
    async def put(self, key: str, value: str, ttl_seconds: float) -> None:
        """Stores ``value`` under ``key`` for ``ttl_seconds``, replacing any older value.

        Raises:
            ChannelStoreError: The store could not answer.
        """

    @abstractmethod
    async def get(self, key: str) -> str | None:
        """The live value under ``key``, or None.

        Raises:
            ChannelStoreError: The store could not answer.
        """

    async def close(self) -> None:  # noqa: B027 - most stores hold no connections
        """Releases connections (the store can still be used afterwards)."""
        return None


class MemoryChannelStore(ChannelStore):
    """A dict with expiry times, in one process.

    Args:
        max_entries: Above this many keys the expired ones are dropped, then the
            oldest, so a flood of deliveries cannot exhaust memory.
        clock: Seconds on a monotonic clock (tests pass their own).
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Any = time.monotonic):
        if max_entries < 1:
            raise ConfigurationError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> tuple[str, float] | None:
        entry = self._entries.get(key)
        if entry is not None and entry[1] <= now:
            del self._entries[key]
            return None
        return entry

    def _store(self, key: str, value: str, ttl_seconds: float, now: float) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (value, now + ttl_seconds)
        if len(self._entries) > self.max_entries:
            for stale in [k for k, (_, expires) in self._entries.items() if expires <= now]:
                del self._entries[stale]
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        with self._lock:
            now = self._clock()
            if self._live(key, now) is not None:
                return False
            self._store(key, "1", ttl_seconds, now)
            return True

    async def put(self, key: str, value: str, ttl_seconds: float) -> None:
        with self._lock:
            self._store(key, value, ttl_seconds, self._clock())

    async def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._live(key, self._clock())
            return None if entry is None else entry[0]


class RedisChannelStore(ChannelStore):
    """Keys in Redis (``SET NX PX``), shared by every Rasa server.

    Args:
        url: Redis URL (``redis://host:6379/0``).
        key_prefix: Prepended to every key.
        timeout_seconds: Socket timeout of every command.
    """

    def __init__(
        self, url: str, key_prefix: str = DEFAULT_KEY_PREFIX, timeout_seconds: float = 2.0
    ) -> None:
        self.url = url
        self.key_prefix = key_prefix
        self.timeout_seconds = timeout_seconds
        self._connection = LoopBoundRedis(url, timeout_seconds)

    def _redis(self) -> aioredis.Redis:
        return self._connection.client()[0]

    @staticmethod
    def _milliseconds(ttl_seconds: float) -> int:
        return max(int(ttl_seconds * 1000), 1)

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        try:
            created = await self._redis().set(
                self.key_prefix + key, "1", nx=True, px=self._milliseconds(ttl_seconds)
            )
        except (redis.RedisError, OSError) as exc:
            raise ChannelStoreError(f"Redis could not claim a channel key: {exc}") from exc
        return bool(created)

    async def put(self, key: str, value: str, ttl_seconds: float) -> None:
        try:
            await self._redis().set(
                self.key_prefix + key, value, px=self._milliseconds(ttl_seconds)
            )
        except (redis.RedisError, OSError) as exc:
            raise ChannelStoreError(f"Redis could not store a channel key: {exc}") from exc

    async def get(self, key: str) -> str | None:
        try:
            value = await self._redis().get(self.key_prefix + key)
        except (redis.RedisError, OSError) as exc:
            raise ChannelStoreError(f"Redis could not read a channel key: {exc}") from exc
        return None if value is None else str(value)

    async def close(self) -> None:
        await self._connection.close()


def create(config: Mapping[str, Any]) -> ChannelStore:
    """Builds a store from ``{"type": "memory"}`` or ``{"type": "redis", "url": ...}``.

    Optional keys: ``max_entries`` (memory), ``key_prefix`` and ``timeout_seconds``
    (Redis).

    Raises:
        ConfigurationError: The type is unknown, or Redis has no URL.
    """
    return create_backend(
        config,
        "channel store",
        lambda: MemoryChannelStore(int(config.get("max_entries") or DEFAULT_MAX_ENTRIES)),
        RedisChannelStore,
        key_prefix=DEFAULT_KEY_PREFIX,
        timeout_seconds=2.0,
    )


def create_from_settings(settings: Settings) -> ChannelStore:
    """Redis when ``REDIS_URL`` is set (several Rasa servers), memory otherwise."""
    return create(config_from_settings(settings))

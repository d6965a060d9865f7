"""What the channels' Redis-or-memory stores share: the choice of backend, and a client per loop.

:mod:`frontline.channels.store` and :mod:`frontline.channels.ratelimit` each keep a
memory implementation (one server) and a Redis one (several servers), chosen the same
way from ``{"type": "memory"}`` or ``{"type": "redis", "url": ...}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import redis.asyncio as aioredis

from frontline.backends import backend_url
from frontline.errors import ConfigurationError
from frontline.settings import Settings

T = TypeVar("T")


class LoopBoundRedis:
    """An asyncio Redis client, made again when the running event loop changes.

    A connection pool belongs to the loop it was made in (tests run several).

    Args:
        url: Redis URL (``redis://host:6379/0``).
        timeout_seconds: Socket timeout of every command.
    """

    def __init__(self, url: str, timeout_seconds: float) -> None:
        self.url = url
        self.timeout_seconds = timeout_seconds
        self._client: aioredis.Redis | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> tuple[aioredis.Redis, bool]:
        """The client of the running loop, and whether it was just made."""
        loop = asyncio.get_running_loop()
        if self._client is not None and self._client_loop is loop:
            return self._client, False
        self._client = aioredis.from_url(
            self.url,
            socket_timeout=self.timeout_seconds,
            socket_connect_timeout=self.timeout_seconds,
            decode_responses=True,
        )
        self._client_loop = loop
        return self._client, True

    async def close(self) -> None:
        """Closes the client if it belongs to the running loop."""
        client, self._client = self._client, None
        if client is not None and self._client_loop is asyncio.get_running_loop():
            await client.close()
            await client.connection_pool.disconnect()


def create_backend(
    config: Mapping[str, Any],
    what: str,
    memory: Callable[[], T],
    redis_backend: Callable[..., T],
    *,
    key_prefix: str,
    timeout_seconds: float,
) -> T:
    """Calls ``memory()`` or ``redis_backend(url, key_prefix=..., timeout_seconds=...)``.

    Args:
        config: ``{"type": "memory"}`` (the default) or ``{"type": "redis", "url": ...}``,
            optionally with ``key_prefix`` and ``timeout_seconds``.
        what: The store's name in error messages (``"rate limiter"``).
        memory: Builds the memory implementation.
        redis_backend: The Redis implementation.
        key_prefix: The default key prefix (Redis).
        timeout_seconds: The default socket timeout (Redis).

    Raises:
        ConfigurationError: Unknown type, or Redis without a URL.
    """
    kind = str(config.get("type") or "memory").lower()
    if kind == "memory":
        return memory()
    if kind == "redis":
        return redis_backend(
            backend_url(config, kind, what),
            key_prefix=str(config.get("key_prefix") or key_prefix),
            timeout_seconds=float(config.get("timeout_seconds") or timeout_seconds),
        )
    raise ConfigurationError(f"unknown {what} type {kind!r} (memory or redis)")


def config_from_settings(settings: Settings) -> dict[str, Any]:
    """Redis when ``REDIS_URL`` is set (shared by all servers), memory otherwise."""
    if settings.redis_url:
        return {"type": "redis", "url": settings.redis_url}
    return {"type": "memory"}

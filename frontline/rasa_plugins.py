"""Rasa server plug-ins named in ``endpoints.yml``.

``EnvironmentLockStore`` lets one ``endpoints.yml`` serve a laptop and production:
Redis when ``REDIS_URL`` is set, in-memory otherwise. This module is imported by
the Rasa server only (it imports Rasa).
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlparse

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from frontline.errors import ConfigurationError

logger = logging.getLogger(__name__)


def redis_lock_store_from_url(url: str, key_prefix: str | None = None) -> RedisLockStore:
    """Builds Rasa's ``RedisLockStore`` from ``redis://[user:pass@]host:port/db``."""
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss"):
        raise ConfigurationError(f"lock store URL must start with redis:// or rediss://: {url}")
    return RedisLockStore(
        host=parsed.hostname or "localhost",
        port=parsed.port or 6379,
        db=int(parsed.path.lstrip("/") or 0),
        username=parsed.username,
        password=parsed.password,
        use_ssl=parsed.scheme == "rediss",
        key_prefix=key_prefix,
    )


class EnvironmentLockStore(LockStore):
    """Rasa's Redis lock store when a URL is given, the in-memory one otherwise."""

    def __init__(self, endpoint_config: EndpointConfig | None = None) -> None:
        url = endpoint_config.url if endpoint_config else None
        key_prefix = endpoint_config.kwargs.get("key_prefix") if endpoint_config else None
        if url:
            self._store: LockStore = redis_lock_store_from_url(url, key_prefix)
            logger.info("Lock store: Redis at %s", urlparse(url).hostname)
        else:
            # Several Sanic workers would each hold their own in-memory locks.
            if int(os.environ.get("SANIC_WORKERS", "1")) > 1:
                raise ConfigurationError("SANIC_WORKERS > 1 needs REDIS_URL for the lock store")
            self._store = InMemoryLockStore()
            logger.info("Lock store: in-memory (set REDIS_URL for Redis)")
        super().__init__()

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return self._store.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self._store.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self._store.save_lock(lock)

"""Lock store of the Rasa server, chosen by ``REDIS_URL`` (``endpoints.yml``: ``lock_store``).

``EnvironmentLockStore`` lets one ``endpoints.yml`` serve a laptop and production: Redis
(``AtomicRedisLockStore``, whose ticket changes are atomic across processes) when a URL
is given, in-memory otherwise. A documented Rasa seam (``type:`` in ``endpoints.yml``),
not a run-time patch. Imported by the Rasa server only (it imports Rasa).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    LOCK_LIFETIME,
    InMemoryLockStore,
    LockError,
    LockStore,
    RedisLockStore,
)
from rasa.utils.endpoints import EndpointConfig

from frontline.errors import ConfigurationError

logger = logging.getLogger(__name__)


# Bound on optimistic-transaction retries; each retry means another process just
# changed the same conversation's lock, so this is only reached under a pathological storm.
MAX_LOCK_TRANSACTION_ATTEMPTS = 200

LockChange = Callable[[TicketLock | None], "tuple[TicketLock | None, Any]"]


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store with every change of a ticket lock made atomically.

    Rasa 3.6 reads the lock, changes it in Python and writes it back. Two servers that
    issue tickets for one conversation at the same moment can then both hold the same
    ticket, process two messages at once, and the tracker store keeps only one of them
    (the scale-out tests caught it; RasaHQ/rasa#9213). Each change here runs in a
    WATCH/MULTI transaction: if another process changed the lock meanwhile, Redis
    refuses the write and the change is made again on the fresh lock.
    """

    def _change(self, conversation_id: str, change: LockChange) -> Any:
        """Applies ``change`` to the stored lock atomically and returns its result.

        ``change`` gets the current lock (or None) and returns the lock to store (None
        deletes it) and a result.
        """
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            for _ in range(MAX_LOCK_TRANSACTION_ATTEMPTS):
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    new_lock, result = change(lock)
                    pipe.multi()
                    if new_lock is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new_lock.dumps())
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another process changed this lock: apply the change again
        raise LockError(f"the lock of conversation '{conversation_id}' kept changing")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        return self._change(conversation_id, issue)

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def finish(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        def finish_and_drop(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, finish_and_drop)


def redis_lock_store_from_url(url: str, key_prefix: str | None = None) -> RedisLockStore:
    """Builds Rasa's ``RedisLockStore`` from ``redis://[user:pass@]host:port/db``."""
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss"):
        raise ConfigurationError(f"lock store URL must start with redis:// or rediss://: {url}")
    return AtomicRedisLockStore(
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

    # The read-modify-write steps go to the chosen store too, so Redis makes them atomic.
    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self._store.issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        self._store.update_lock(conversation_id)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._store.finish_serving(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self._store.cleanup(conversation_id, ticket_number)

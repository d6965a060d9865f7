"""How every process learns that overrides or the kill switch changed.

A change signal tells a process the current change counter at the cost of one read, and
tells every process of a change:

* :class:`SqlChangeSignal` reads the counter's row (one primary-key read);
* :class:`RedisChangeSignal` (when ``REDIS_URL`` is set) one Redis ``GET`` of a copy of
  the counter that expires after a few seconds, so PostgreSQL is not asked on every
  message, and an announcement lost to a Redis hiccup heals by itself.

:func:`create_signal` picks one from the settings (one interface, a factory, one
parametrized test over both: tests/flags/test_provider.py).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Protocol

import redis

from frontline.flags.store import SqlFlagStore
from frontline.settings import Settings

logger = logging.getLogger(__name__)

#: The Redis key of the counter's copy, per database (deployments may share a Redis).
REDIS_KEY_PREFIX = "frontline:flags:version:"


class ChangeSignal(Protocol):
    """Tells a process the current change counter, and every process of a change."""

    def current(self) -> int:
        """The change counter now.

        Raises:
            FlagStoreError: it cannot be read.
        """
        ...

    def announce(self, version: int) -> None:
        """Tells every process that the counter reached ``version`` (after the commit)."""
        ...


class SqlChangeSignal:
    """The counter read from its SQL row: one primary-key read per check."""

    def __init__(self, store: SqlFlagStore) -> None:
        self.store = store

    def current(self) -> int:
        return self.store.read_version()

    def announce(self, version: int) -> None:
        """Nothing to do: the counter's row is the announcement."""


def redis_key(database_url: str) -> str:
    """The counter's key for one database (hashed: no credentials in Redis)."""
    return REDIS_KEY_PREFIX + hashlib.sha256(database_url.encode()).hexdigest()[:16]


#: Sets the key to ARGV[1] with a life of ARGV[2] ms unless it already holds a higher value,
#: so a slow announcer or reader never moves the copy backwards.
_SET_IF_HIGHER = """
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class RedisChangeSignal:
    """A copy of the counter in Redis, expiring after ``ttl_seconds``.

    A check is one ``GET``; when the key has expired (or was never set), the counter is
    read from SQL and copied back. A change is announced by raising the copy; if that
    fails, the copy expires within ``ttl_seconds`` and the next check reads SQL. When Redis
    cannot be reached, checks read SQL.
    """

    def __init__(
        self, client: redis.Redis, store: SqlFlagStore, ttl_seconds: float, key: str | None = None
    ) -> None:
        self.client = client
        self.store = store
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self.key = key or redis_key(store.url)
        self._set_if_higher = client.register_script(_SET_IF_HIGHER)

    def current(self) -> int:
        try:
            value = self.client.get(self.key)
        except redis.RedisError as exc:
            logger.warning("Redis did not answer for the flag counter (%s); reading SQL", exc)
            return self.store.read_version()
        if value is not None:
            return int(value)
        version = self.store.read_version()
        self._raise_copy(version)
        return version

    def announce(self, version: int) -> None:
        self._raise_copy(version)

    def _raise_copy(self, version: int) -> None:
        try:
            self._set_if_higher(keys=[self.key], args=[version, self.ttl_ms])
        except redis.RedisError as exc:
            logger.warning("Could not copy the flag counter %d to Redis: %s", version, exc)


def create_signal(
    settings: Settings, store: SqlFlagStore, redis_ttl_seconds: float
) -> ChangeSignal:
    """Redis when ``settings.redis_url`` is set, else the SQL row."""
    if settings.redis_url:
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        return RedisChangeSignal(client, store, redis_ttl_seconds)
    return SqlChangeSignal(store)

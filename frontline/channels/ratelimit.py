"""Token buckets: how many messages a conversation or a client may send, and how fast.

A bucket holds up to ``capacity`` tokens and gains ``refill_per_second``; each message
takes one. Two implementations behind one interface:

* :class:`MemoryRateLimiter`: in the Rasa server's process (right for one server; each
  Sanic worker would count on its own).
* :class:`RedisRateLimiter`: one Lua script per decision, on Redis's clock, so every
  Rasa server and worker shares the buckets. Chosen when ``REDIS_URL`` is set.

Use :func:`create` (or :func:`create_from_settings`). When Redis cannot answer, the
limiter lets the message through and logs it: a customer is never refused because the
bookkeeping is down.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from frontline.channels.backing import LoopBoundRedis, config_from_settings, create_backend
from frontline.errors import ConfigurationError
from frontline.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "frontline:limits:"
DEFAULT_MAX_KEYS = 200_000


@dataclass(frozen=True)
class Bucket:
    """A token bucket's shape: ``capacity`` tokens, refilled at ``refill_per_second``."""

    capacity: float
    refill_per_second: float

    def __post_init__(self) -> None:
        if self.capacity <= 0 or self.refill_per_second <= 0:
            raise ConfigurationError("a token bucket needs a positive capacity and refill")

    @classmethod
    def per_minute(cls, burst: float, refill_per_minute: float) -> Bucket:
        return cls(float(burst), float(refill_per_minute) / 60.0)

    @property
    def seconds_to_fill(self) -> float:
        return self.capacity / self.refill_per_second


@dataclass(frozen=True)
class Decision:
    """What a bucket said: allowed or not, the tokens left, seconds until one is back."""

    allowed: bool
    remaining: float
    retry_after: float


def _decide(tokens: float, bucket: Bucket, cost: float, force: bool) -> tuple[Decision, float]:
    """The decision for a bucket holding ``tokens`` now, and the tokens it keeps."""
    allowed = tokens >= cost if cost > 0 else tokens >= 1.0
    if cost > 0 and (allowed or force):
        tokens = max(tokens - cost, -bucket.capacity)
    missing = (cost if cost > 0 else 1.0) - tokens
    retry_after = 0.0 if allowed else max(missing, 0.0) / bucket.refill_per_second
    return Decision(allowed, tokens, retry_after), tokens


class RateLimiter(ABC):
    """Token buckets by key."""

    @abstractmethod
    async def take(
        self, key: str, bucket: Bucket, cost: float = 1.0, *, force: bool = False
    ) -> Decision:
        """Takes ``cost`` tokens from the bucket ``key`` if it holds them.

        Args:
            key: The bucket's name (a conversation, a client).
            bucket: Its capacity and refill.
            cost: Tokens to take; 0 only looks (allowed when one token is there).
            force: Take them even if the bucket holds fewer (it may go down to
                ``-capacity``): for events that happened already and must be counted.
        """

    async def peek(self, key: str, bucket: Bucket) -> Decision:
        """Whether one token is there, without taking it."""
        return await self.take(key, bucket, 0.0)

    async def close(self) -> None:  # noqa: B027 - most limiters hold no connections
        """Releases connections."""
        return None


class MemoryRateLimiter(RateLimiter):
    """Buckets in a dict, in one process; the least recently used go beyond ``max_keys``
    (a bucket dropped counts as full: lenient, never wrongly strict)."""

    def __init__(
        self, max_keys: int = DEFAULT_MAX_KEYS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_keys < 1:
            raise ConfigurationError("max_keys must be at least 1")
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    async def take(
        self, key: str, bucket: Bucket, cost: float = 1.0, *, force: bool = False
    ) -> Decision:
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key, (bucket.capacity, now))
            tokens = min(bucket.capacity, tokens + max(now - at, 0.0) * bucket.refill_per_second)
            decision, kept = _decide(tokens, bucket, cost, force)
            if cost > 0:
                self._buckets[key] = (kept, now)
                self._buckets.move_to_end(key)
                while len(self._buckets) > self.max_keys:
                    self._buckets.popitem(last=False)
            return decision


# KEYS[1]: the bucket; ARGV: capacity, refill per second, cost, force (0/1).
# Redis's own clock, so every server agrees; peeks (cost 0) write nothing.
_TAKE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local force = ARGV[4] == '1'
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
end
local allowed
if cost > 0 then
  allowed = tokens >= cost
  if allowed or force then
    tokens = math.max(tokens - cost, -capacity)
  end
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
else
  allowed = tokens >= 1
end
return {allowed and 1 or 0, tostring(tokens)}
"""


class RedisRateLimiter(RateLimiter):
    """Buckets in Redis hashes (``tokens``, ``at``), shared by every Rasa server.

    Args:
        url: Redis URL.
        key_prefix: Prepended to every bucket's key.
        timeout_seconds: Socket timeout of every command.
    """

    def __init__(
        self, url: str, key_prefix: str = DEFAULT_KEY_PREFIX, timeout_seconds: float = 1.0
    ) -> None:
        self.url = url
        self.key_prefix = key_prefix
        self.timeout_seconds = timeout_seconds
        self._connection = LoopBoundRedis(url, timeout_seconds)
        self._script: Any = None

    def _take_script(self) -> Any:
        client, fresh = self._connection.client()
        if fresh or self._script is None:
            self._script = client.register_script(_TAKE_SCRIPT)
        return self._script

    async def take(
        self, key: str, bucket: Bucket, cost: float = 1.0, *, force: bool = False
    ) -> Decision:
        args = [bucket.capacity, bucket.refill_per_second, cost, "1" if force else "0"]
        try:
            allowed, tokens = await self._take_script()(keys=[self.key_prefix + key], args=args)
        except (redis.RedisError, OSError) as exc:
            logger.error("Rate limits unavailable (Redis): letting a message through: %s", exc)
            return Decision(True, bucket.capacity, 0.0)
        remaining = float(tokens)
        if allowed:
            return Decision(True, remaining, 0.0)
        missing = (cost if cost > 0 else 1.0) - remaining
        return Decision(False, remaining, max(missing, 0.0) / bucket.refill_per_second)

    async def close(self) -> None:
        await self._connection.close()


def create(config: Mapping[str, Any]) -> RateLimiter:
    """Builds a limiter from ``{"type": "memory"}`` or ``{"type": "redis", "url": ...}``.

    Optional keys: ``max_keys`` (memory), ``key_prefix`` and ``timeout_seconds`` (Redis).

    Raises:
        ConfigurationError: Unknown type, or Redis without a URL.
    """
    return create_backend(
        config,
        "rate limiter",
        lambda: MemoryRateLimiter(int(config.get("max_keys") or DEFAULT_MAX_KEYS)),
        RedisRateLimiter,
        key_prefix=DEFAULT_KEY_PREFIX,
        timeout_seconds=1.0,
    )


def create_from_settings(settings: Settings) -> RateLimiter:
    """Redis when ``REDIS_URL`` is set (shared by all servers), memory otherwise."""
    return create(config_from_settings(settings))

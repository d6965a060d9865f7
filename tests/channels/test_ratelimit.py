"""Token buckets, in memory and in Redis: one test suite over both implementations."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from frontline.channels.ratelimit import Bucket, RateLimiter, create, create_from_settings
from frontline.errors import ConfigurationError
from frontline.settings import Settings


@pytest.fixture(params=["memory", "redis"])
def limiter(request) -> RateLimiter:
    if request.param == "memory":
        return create({"type": "memory"})
    redis_url = request.getfixturevalue("redis_url")
    return create({"type": "redis", "url": redis_url, "key_prefix": f"t:{uuid.uuid4().hex}:"})


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_bucket_lets_its_burst_through_then_refuses(limiter):
    async def scenario():
        bucket = Bucket(3, 0.01)
        decisions = [await limiter.take("k", bucket) for _ in range(5)]
        other = await limiter.take("other", bucket)
        await limiter.close()
        return decisions, other

    decisions, other = run(scenario())
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert decisions[3].retry_after == pytest.approx(100, rel=0.05)  # one token at 0.01/s
    assert other.allowed  # buckets are per key


def test_tokens_come_back_with_time(limiter):
    async def scenario():
        bucket = Bucket(1, 2.0)  # a token every 500 ms
        first = await limiter.take("k", bucket)
        second = await limiter.take("k", bucket)
        await asyncio.sleep(0.6)  # the refill itself is what is tested
        third = await limiter.take("k", bucket)
        await limiter.close()
        return first, second, third

    first, second, third = run(scenario())
    assert first.allowed and not second.allowed and third.allowed


def test_peeking_takes_nothing_and_forcing_counts_what_happened(limiter):
    async def scenario():
        bucket = Bucket(2, 0.001)
        looks = [await limiter.peek("k", bucket) for _ in range(3)]
        forced = [await limiter.take("k", bucket, force=True) for _ in range(3)]
        after = await limiter.peek("k", bucket)
        await limiter.close()
        return looks, forced, after

    looks, forced, after = run(scenario())
    assert all(look.allowed for look in looks)
    assert [f.allowed for f in forced] == [True, True, False]
    assert forced[-1].remaining == pytest.approx(-1, abs=0.01)  # owed, not forgotten
    assert not after.allowed and after.retry_after > 1000


def test_concurrent_takes_never_hand_out_more_than_the_bucket_holds(limiter):
    async def scenario():
        bucket = Bucket(10, 0.0001)
        decisions = await asyncio.gather(*(limiter.take("k", bucket) for _ in range(40)))
        await limiter.close()
        return decisions

    assert sum(d.allowed for d in run(scenario())) == 10


def test_redis_down_lets_messages_through():
    limiter = create({"type": "redis", "url": "redis://127.0.0.1:1/0", "timeout_seconds": 0.2})
    decision = run(limiter.take("k", Bucket(1, 1)))
    assert decision.allowed


def test_the_factory_picks_by_settings_and_refuses_nonsense():
    assert type(create_from_settings(Settings())).__name__ == "MemoryRateLimiter"
    assert type(create_from_settings(Settings(redis_url="redis://x:6379/0"))).__name__ == (
        "RedisRateLimiter"
    )
    with pytest.raises(ConfigurationError):
        create({"type": "carrier-pigeon"})
    with pytest.raises(ConfigurationError):
        create({"type": "redis"})
    with pytest.raises(ConfigurationError):
        Bucket(0, 1)

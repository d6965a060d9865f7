"""The channels' store (delivery marks, reply addresses), on every implementation."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from frontline.channels.store import (
    ChannelStore,
    MemoryChannelStore,
    RedisChannelStore,
    create,
    create_from_settings,
)
from frontline.errors import ChannelStoreError, ConfigurationError
from frontline.settings import Settings


@pytest.fixture(params=["memory", "redis"])
async def store(request) -> AsyncIterator[ChannelStore]:
    if request.param == "memory":
        config = {"type": "memory"}
    else:
        prefix = f"frontline:test:{uuid.uuid4().hex[:8]}:"
        config = {
            "type": "redis",
            "url": request.getfixturevalue("redis_url"),
            "key_prefix": prefix,
        }
    channel_store = create(config)
    yield channel_store
    await channel_store.close()


async def test_a_key_is_claimed_once(store):
    assert await store.claim("delivery-1", 60) is True
    assert await store.claim("delivery-1", 60) is False
    assert await store.claim("delivery-2", 60) is True


async def test_concurrent_claims_have_exactly_one_winner(store):
    results = await asyncio.gather(*(store.claim("twin", 60) for _ in range(20)))
    assert results.count(True) == 1


async def test_values_are_kept_and_replaced(store):
    assert await store.get("address") is None
    await store.put("address", '{"channel": "C1"}', 60)
    assert await store.get("address") == '{"channel": "C1"}'
    await store.put("address", '{"channel": "C2"}', 60)
    assert await store.get("address") == '{"channel": "C2"}'


async def test_keys_expire(store):
    await store.put("short", "v", 0.2)
    assert await store.claim("short-claim", 0.2) is True
    deadline = time.monotonic() + 5
    # Both keys, not just the first: the claim was set a moment later and expires later.
    while await store.get("short") is not None or await store.get("short-claim") is not None:
        assert time.monotonic() < deadline, "the key never expired"
        await asyncio.sleep(0.05)
    assert await store.claim("short-claim", 60) is True  # claimable again


async def test_the_memory_store_stays_bounded():
    now = [0.0]
    store = MemoryChannelStore(max_entries=3, clock=lambda: now[0])
    for key in ("a", "b", "c", "d"):
        await store.claim(key, 10)
    assert await store.get("a") is None  # the oldest made room
    assert await store.get("d") == "1"
    now[0] = 11.0  # everything expired
    assert await store.claim("a", 10) is True


async def test_an_unreachable_redis_is_a_channel_store_error():
    store = RedisChannelStore("redis://127.0.0.1:1/0", timeout_seconds=0.5)
    with pytest.raises(ChannelStoreError):
        await store.claim("k", 1)
    with pytest.raises(ChannelStoreError):
        await store.put("k", "v", 1)
    with pytest.raises(ChannelStoreError):
        await store.get("k")
    await store.close()


def test_the_factory_refuses_bad_configurations():
    with pytest.raises(ConfigurationError):
        create({"type": "redis"})
    with pytest.raises(ConfigurationError):
        create({"type": "carrier-pigeon"})


def test_settings_choose_redis_when_redis_url_is_set():
    assert isinstance(create_from_settings(Settings()), MemoryChannelStore)
    redis_store = create_from_settings(Settings(redis_url="redis://127.0.0.1:6379/0"))
    assert isinstance(redis_store, RedisChannelStore)

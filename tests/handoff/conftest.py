"""Queues on every backend (SQLite, PostgreSQL, Redis) for the handoff queue tests.

``unique_name`` keeps tests independent on the shared servers, and what a test writes
there is removed afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from frontline.db import session_scope
from frontline.handoff.queue import HandoffQueue, create
from frontline.handoff.sql_queue import HandoffQueueRow

# Backend name -> the conftest fixture giving its URL.
BACKENDS = {"sqlite": "sqlite_url", "postgresql": "postgres_url", "redis": "redis_url"}


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, unique_name: str) -> Iterator[dict[str, Any]]:
    """Config of a fresh queue on one backend; ``name`` is the queue or stream name."""
    url = request.getfixturevalue(BACKENDS[request.param])
    if request.param == "redis":
        config = {"type": "redis", "url": url, "stream": f"test:handoff:{unique_name}"}
    else:
        config = {"type": "sql", "url": url, "queue_name": unique_name}
    yield config
    cleanup(config)


def cleanup(config: dict[str, Any]) -> None:
    """Removes everything the test wrote on a shared server (all queues of a test)."""
    if config["type"] == "redis":
        client = redis.Redis.from_url(config["url"])
        try:
            keys = list(client.scan_iter(match=f"{config['stream']}*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
            client.connection_pool.disconnect()
    elif config["url"].startswith("postgresql"):
        table = HandoffQueueRow.__table__
        with session_scope(config["url"]) as session:
            session.execute(
                sa.delete(table).where(table.c.queue_name.like(f"{config['queue_name']}%"))
            )


@pytest.fixture
def queue(backend: dict[str, Any]) -> Iterator[HandoffQueue]:
    """A queue with the default (one minute) lease."""
    with create(backend) as q:
        yield q

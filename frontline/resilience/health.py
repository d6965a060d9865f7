"""Liveness and readiness of each server, with every dependency reported.

Every server (Rasa, actions, desk) answers:

* ``GET /health/live``: 200 ``{"status": "alive", "service": ...}`` while the process
  serves requests. It checks nothing else, so a database outage never makes a
  supervisor restart every process (systemd's health timer, Kubernetes' liveness probe).
  ``GET /health`` answers the same (older probes and scripts use it).
* ``GET /health/ready``: each dependency checked at once, each within
  ``HEALTH_TIMEOUT_SECONDS``: 200 ``{"status": "ready", "dependencies": {...}}`` when
  all answer, else 503 ``{"status": "not_ready", ...}``; each dependency says ``ok``,
  ``detail`` (what answered, or the error) and ``seconds``.

A check is an async callable that returns a detail or raises; the builders below check
a SQL database, Redis, an HTTP service, the handoff queue and the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import sqlalchemy as sa

from frontline.db import get_engine
from frontline.handoff.base import HandoffQueue, run_blocking
from frontline.resilience.outbox import HandoffOutbox

logger = logging.getLogger(__name__)

#: Answers with a detail, or raises.
Check = Callable[[], Awaitable[str]]


@dataclass(frozen=True)
class CheckResult:
    """What one dependency answered."""

    name: str
    ok: bool
    detail: str
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, "seconds": round(self.seconds, 3)}


def liveness(service: str) -> dict[str, Any]:
    """The liveness answer: the process serves."""
    return {"status": "alive", "service": service}


async def run_check(name: str, check: Check, timeout: float) -> CheckResult:
    """Runs one check within ``timeout``; any failure is its result, never raised."""
    started = time.monotonic()
    try:
        detail = await asyncio.wait_for(check(), timeout)
    except asyncio.TimeoutError:
        return CheckResult(name, False, f"no answer in {timeout:g} s", time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - a failing dependency is reported, not raised
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        detail = f"{type(exc).__name__}: {reason}"[:300]
        return CheckResult(name, False, detail, time.monotonic() - started)
    return CheckResult(name, True, detail, time.monotonic() - started)


async def readiness(
    service: str, checks: Mapping[str, Check], timeout: float
) -> tuple[int, dict[str, Any]]:
    """Runs every check at once; the HTTP status (200 or 503) and the body."""
    results = await asyncio.gather(
        *(run_check(name, check, timeout) for name, check in checks.items())
    )
    ready = all(result.ok for result in results)
    for result in results:
        if not result.ok:
            logger.warning("Readiness: %s is down (%s)", result.name, result.detail)
    body = {
        "status": "ready" if ready else "not_ready",
        "service": service,
        "dependencies": {result.name: result.as_json() for result in results},
    }
    return (200 if ready else 503), body


def sql_check(url: str) -> Check:
    """``SELECT 1`` on the database at ``url``."""

    def select_one() -> str:
        engine = get_engine(url)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return f"{engine.dialect.name} answers"

    async def check() -> str:
        return await run_blocking(select_one)

    return check


def redis_check(url: str, timeout: float) -> Check:
    """``PING`` to the Redis at ``url``."""

    async def check() -> str:
        import redis.asyncio as redis_asyncio

        client = redis_asyncio.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            await client.ping()
        finally:
            await client.close()
        return "redis answers"

    return check


def http_check(url: str, timeout: float) -> Check:
    """``GET url``: any answer below 500 counts."""

    async def check() -> str:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.get(url) as response:
                if response.status >= 500:
                    raise ConnectionError(f"{url} answered {response.status}")
                return f"{url} answered {response.status}"

    return check


def queue_check(queue: Callable[[], HandoffQueue]) -> Check:
    """Reads the handoff queue's first pending entry."""

    async def check() -> str:
        pending = await run_blocking(queue().pending, 1)
        return "the queue answers" + (", entries waiting" if pending else "")

    return check


def outbox_check(outbox: HandoffOutbox) -> Check:
    """Counts the handoffs waiting in the outbox for the queue."""

    async def check() -> str:
        waiting = await run_blocking(outbox.waiting)
        return f"{len(waiting)} handoff(s) waiting for the queue"

    return check


def with_path(url: str, path: str) -> str:
    """``url`` with its path replaced (the action endpoint's ``/webhook`` -> ``/health``)."""
    parts = urlsplit(url)
    base = parts.path.rsplit("/", 1)[0] if parts.path.endswith("/webhook") else parts.path
    return urlunsplit((parts.scheme, parts.netloc, base.rstrip("/") + path, "", ""))

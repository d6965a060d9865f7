"""Readiness checks: each dependency reported, a down one within the timeout, none raises."""

from __future__ import annotations

import asyncio
import time

from frontline.resilience import health
from tests.support.processes import free_port


def test_every_dependency_is_reported_and_one_down_makes_it_not_ready(sqlite_url, redis_url):
    closed = free_port()

    async def hangs() -> str:
        await asyncio.sleep(60)
        return "never"

    checks = {
        "database": health.sql_check(sqlite_url),
        "redis": health.redis_check(redis_url, 1.0),
        "redis_down": health.redis_check(f"redis://127.0.0.1:{closed}/0", 1.0),
        "postgres_down": health.sql_check(f"postgresql://postgres@127.0.0.1:{closed}/test"),
        "http_down": health.http_check(f"http://127.0.0.1:{closed}/health", 1.0),
        "slow": hangs,
    }
    started = time.monotonic()
    status, body = asyncio.run(health.readiness("test", checks, 2.0))
    assert time.monotonic() - started < 10

    assert status == 503 and body["status"] == "not_ready" and body["service"] == "test"
    results = body["dependencies"]
    assert {name for name, result in results.items() if result["ok"]} == {"database", "redis"}
    assert results["database"]["detail"] == "sqlite answers"
    assert results["slow"]["detail"] == "no answer in 2 s"
    assert "OperationalError" in results["postgres_down"]["detail"]
    assert all(result["detail"] for result in results.values())


def test_all_up_is_ready(sqlite_url):
    status, body = asyncio.run(health.readiness("t", {"db": health.sql_check(sqlite_url)}, 2))
    assert (status, body["status"]) == (200, "ready")


def test_the_action_servers_health_url_comes_from_its_webhook():
    assert health.with_path("http://a:5055/webhook", "/health/live") == "http://a:5055/health/live"
    assert (
        health.with_path("http://lb/actions/webhook", "/health/live")
        == "http://lb/actions/health/live"
    )

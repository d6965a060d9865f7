"""Fixtures shared by every test layer: the real servers tests run against.

PostgreSQL and Redis are the ones running on the machine (CI has both). On a
laptop without them those tests are skipped with a reason; under CI (``CI`` set)
a missing server is a failure, so nothing is silently left untested.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlparse

import pytest

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=1):
            return True
    except OSError:
        return False


def _require(url: str, what: str) -> str:
    if not _reachable(url):
        if os.environ.get("CI"):
            pytest.fail(f"{what} at {url} is not reachable, and CI requires it")
        pytest.skip(f"{what} at {url} is not reachable")
    return url


@pytest.fixture
def postgres_url() -> str:
    """URL of the test PostgreSQL database."""
    return _require(POSTGRES_URL, "PostgreSQL")


@pytest.fixture
def redis_url() -> str:
    """URL of the test Redis database."""
    return _require(REDIS_URL, "Redis")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a fresh SQLite database file."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request, tmp_path) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return _require(POSTGRES_URL, "PostgreSQL")


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses: keeps tests on shared servers independent."""
    return f"t{uuid.uuid4().hex[:12]}"

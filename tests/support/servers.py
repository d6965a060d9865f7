"""The real PostgreSQL and Redis servers tests run against.

On a laptop without them those tests are skipped with a reason; under CI (``CI``
set) a missing server is a failure, so nothing is silently left untested.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=1):
            return True
    except OSError:
        return False


def require_server(url: str, what: str) -> str:
    if not reachable(url):
        if os.environ.get("CI"):
            pytest.fail(f"{what} at {url} is not reachable, and CI requires it")
        pytest.skip(f"{what} at {url} is not reachable")
    return url

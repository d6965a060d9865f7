"""Fixtures shared by every test layer: the real servers tests run against.

PostgreSQL and Redis are the ones running on the machine (CI has both). On a
laptop without them those tests are skipped with a reason; under CI (``CI`` set)
a missing server is a failure, so nothing is silently left untested.
"""

from __future__ import annotations

import uuid

import pytest

from tests.support.servers import (
    POSTGRES_URL,
    REDIS_URL,
    ensure_worker_database,
    require_server,
)


def pytest_sessionstart(session) -> None:
    """Each pytest-xdist worker gets its own PostgreSQL database (tests/support/servers.py)."""
    ensure_worker_database()


@pytest.fixture
def postgres_url() -> str:
    """URL of the test PostgreSQL database."""
    return require_server(POSTGRES_URL, "PostgreSQL")


@pytest.fixture
def redis_url() -> str:
    """URL of the test Redis database."""
    return require_server(REDIS_URL, "Redis")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a fresh SQLite database file."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request, tmp_path) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return require_server(POSTGRES_URL, "PostgreSQL")


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses: keeps tests on shared servers independent."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    """A real sandbox service (CRM, orders, billing) on SQLite, for the session.

    Tests that write to it use orders no other test touches.
    """
    from tests.support.processes import sandbox_process

    folder = tmp_path_factory.mktemp("sandbox")
    server = sandbox_process(f"sqlite:///{folder / 'sandbox.db'}", folder).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox_faults(sandbox):
    """Sets the sandbox's fault switch for one test, and clears it afterwards."""
    import requests

    def set_faults(**faults):
        requests.put(f"{sandbox.url}/admin/faults", json=faults, timeout=10).raise_for_status()

    yield set_faults
    requests.delete(f"{sandbox.url}/admin/faults", timeout=10).raise_for_status()

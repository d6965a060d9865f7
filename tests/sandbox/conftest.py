"""Fixtures of the sandbox tests: real sandbox servers reached over real HTTP.

Each server is ``python -m sandbox`` in a subprocess on a free loopback port, on
SQLite (a temporary file) or on PostgreSQL (a database of its own, created here and
dropped afterwards, so a shared server's other databases are never touched).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import sqlalchemy as sa

from sandbox.db import Database
from sandbox.seed import reset
from sandbox.testing import SandboxClient, SandboxProcess

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def make_pg_database() -> Iterator[Callable[[], str]]:
    """Creates PostgreSQL databases of the sandbox tests' own; drops them at the end.

    The sandbox tests never touch the shared test database: each server or in-process
    test gets a database named ``sandbox_test_<random>``.
    """
    if not _postgres_reachable(POSTGRES_URL):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable, and CI requires it")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable")
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", future=True)
    created: list[str] = []

    def make() -> str:
        name = f"sandbox_test_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return (
            sa.engine.make_url(POSTGRES_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )

    try:
        yield make
    finally:
        with admin.connect() as connection:
            for name in created:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sandbox_pg_url(make_pg_database: Callable[[], str]) -> str:
    """URL of the PostgreSQL database the PostgreSQL sandbox server uses."""
    return make_pg_database()


@pytest.fixture(scope="session")
def unit_pg_url(make_pg_database: Callable[[], str]) -> str:
    """URL of a PostgreSQL database for in-process tests (no server uses it)."""
    return make_pg_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An in-process sandbox database (SQLite file, then PostgreSQL), freshly seeded."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'unit.db'}"
    else:
        url = request.getfixturevalue("unit_pg_url")
    db = Database(url)
    reset(db)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """A sandbox on a SQLite file, for the whole session."""
    folder = tmp_path_factory.mktemp("sandbox-sqlite")
    server = SandboxProcess(f"sqlite:///{folder / 'sandbox.db'}", folder / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgresql_server(
    sandbox_pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SandboxProcess]:
    """A sandbox on its own PostgreSQL database, for the whole session."""
    folder = tmp_path_factory.mktemp("sandbox-postgresql")
    server = SandboxProcess(sandbox_pg_url, folder / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest) -> Iterator[SandboxClient]:
    """A client of a running sandbox (SQLite, then PostgreSQL), with faults cleared."""
    client = SandboxClient(request.getfixturevalue(f"{request.param}_server"))
    client.delete("/admin/faults").raise_for_status()
    yield client
    client.delete("/admin/faults").raise_for_status()
    client.close()


@pytest.fixture
def fresh_api(api: SandboxClient) -> SandboxClient:
    """Like ``api``, with the data just reset to the demo seed."""
    api.post("/admin/reset", timeout=60).raise_for_status()
    return api

"""The real PostgreSQL and Redis servers tests run against.

On a laptop without them those tests are skipped with a reason; under CI (``CI``
set) a missing server is a failure, so nothing is silently left untested.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse, urlunparse

import pytest
import sqlalchemy as sa

from frontline.db import dispose_engines

# Under pytest-xdist each worker ("gw0", "gw1", ...) gets its own PostgreSQL database and
# Redis database, so tests that create, flush or drop do not meet another worker's.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_WORKER_INDEX = int(_WORKER[2:]) if _WORKER.startswith("gw") and _WORKER[2:].isdigit() else None

_BASE_POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
_BASE_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _for_worker_postgres(url: str) -> str:
    if _WORKER_INDEX is None:
        return url
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=f"{parsed.path}_{_WORKER}"))


def _for_worker_redis(url: str) -> str:
    if _WORKER_INDEX is None:
        return url
    parsed = urlparse(url)
    database = int(parsed.path.lstrip("/") or 0)
    return urlunparse(parsed._replace(path=f"/{(database - _WORKER_INDEX) % 16}"))


POSTGRES_URL = _for_worker_postgres(_BASE_POSTGRES_URL)
REDIS_URL = _for_worker_redis(_BASE_REDIS_URL)


def ensure_worker_database() -> None:
    """Creates this xdist worker's PostgreSQL database when it is missing.

    Called once per worker at session start; a missing server is left to
    :func:`require_server`, which skips or fails the tests that need it.
    """
    if _WORKER_INDEX is None or not reachable(_BASE_POSTGRES_URL):
        return
    import psycopg2
    from psycopg2 import sql

    name = urlparse(POSTGRES_URL).path.lstrip("/")
    connection = psycopg2.connect(_BASE_POSTGRES_URL)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


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


@contextmanager
def postgres_schema(server_url: str, prefix: str) -> Iterator[str]:
    """A URL to a fresh PostgreSQL schema on ``server_url``, dropped afterwards.

    Aggregates over a whole table then see only this user's rows, even on a database
    other runs share.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        dispose_engines()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

"""Databases of the outcome tests: a fresh SQLite file, or a PostgreSQL schema of the
test's own (dropped afterwards), so aggregates over the whole table see only the test's
contacts even on a database other runs share."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from frontline.db import dispose_engines
from tests.support.servers import POSTGRES_URL, require_server


@pytest.fixture(params=["sqlite", "postgresql"])
def outcome_url(request, tmp_path) -> Iterator[str]:
    """A database with nothing in it, once SQLite and once PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'outcomes.db'}"
        return
    server = require_server(POSTGRES_URL, "PostgreSQL")
    schema = f"outcomes_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        dispose_engines()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

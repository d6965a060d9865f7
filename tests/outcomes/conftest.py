"""Databases of the outcome tests: a fresh SQLite file, or a PostgreSQL schema of the
test's own (dropped afterwards), so aggregates over the whole table see only the test's
contacts even on a database other runs share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import POSTGRES_URL, postgres_schema, require_server


@pytest.fixture(params=["sqlite", "postgresql"])
def outcome_url(request, tmp_path) -> Iterator[str]:
    """A database with nothing in it, once SQLite and once PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'outcomes.db'}"
        return
    server = require_server(POSTGRES_URL, "PostgreSQL")
    with postgres_schema(server, "outcomes") as url:
        yield url

"""Frontline's tables on a fresh database that several processes reach at once."""

from __future__ import annotations

import sqlalchemy as sa

from frontline.audit.store import AuditChainHead, AuditRecordRow
from tests.support.servers import POSTGRES_URL, require_server
from tests.support.table_creators import run_creators
from tests.support.topology import fresh_postgres_database

AUDIT_TABLES = {AuditRecordRow.__tablename__, AuditChainHead.__tablename__}


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_processes_starting_together_on_fresh_sqlite_all_get_the_tables(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'frontline.db'}"

    reports = run_creators(url, 3)

    assert reports == ["ok"] * 3
    assert AUDIT_TABLES <= _tables(url)


def test_processes_starting_together_on_fresh_postgresql_all_get_the_tables() -> None:
    with fresh_postgres_database(require_server(POSTGRES_URL, "PostgreSQL"), "tables") as url:
        reports = run_creators(url, 3)

        assert reports == ["ok"] * 3
        assert AUDIT_TABLES <= _tables(url)

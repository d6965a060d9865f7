"""Upgrades of the desk's tables made by an earlier version.

The role check of ``desk_agents`` allowed only ``agent`` and ``supervisor`` before the
``reviewer`` role; :func:`widen_role_check` replaces it with today's
(:data:`desk.accounts.tables.ROLE_CHECK`). PostgreSQL alters the constraint; SQLite,
which cannot alter one, copies the table into a new one with the new check (the
sessions' foreign key names the table, so it still holds). Safe when several processes
start at once: whoever comes second finds the check widened already.
"""

from __future__ import annotations

import logging
import sqlite3

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from desk.accounts.tables import ROLE_CHECK, ROLE_CHECK_NAME, agents_table
from frontline.handoff.transitions import ROLES

logger = logging.getLogger(__name__)

_NEWEST_ROLE = f"'{ROLES[-1]}'"
_PG_CHECK = (
    "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conname = :name AND conrelid = CAST(:table AS regclass)"
)


def _current_check(engine: Engine) -> str | None:
    """The text of the role check as the database has it (None: no check found)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            return connection.execute(
                sa.text(_PG_CHECK), {"name": ROLE_CHECK_NAME, "table": agents_table.name}
            ).scalar()
        if engine.dialect.name == "sqlite":
            return connection.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :table"),
                {"table": agents_table.name},
            ).scalar()
    return None


def widen_role_check(engine: Engine) -> bool:
    """Lets ``desk_agents`` hold every role of today; whether it had to change."""
    current = _current_check(engine)
    if current is None or _NEWEST_ROLE in current:
        return False
    if engine.dialect.name == "sqlite" and ROLE_CHECK_NAME not in current:
        return False
    try:
        if engine.dialect.name == "postgresql":
            _alter_postgresql(engine)
        else:
            _rebuild_sqlite(engine, current)
    except (sa.exc.DBAPIError, sqlite3.Error):
        # Another process widened it first.
        if _NEWEST_ROLE not in (_current_check(engine) or ""):
            raise
        return False
    logger.info("Widened the role check of %s to %s", agents_table.name, ROLE_CHECK)
    return True


def _alter_postgresql(engine: Engine) -> None:
    table = agents_table.name
    with engine.begin() as connection:
        connection.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        check = connection.execute(
            sa.text(_PG_CHECK), {"name": ROLE_CHECK_NAME, "table": table}
        ).scalar()
        if _NEWEST_ROLE in (check or ""):
            return
        connection.execute(sa.text(f"ALTER TABLE {table} DROP CONSTRAINT {ROLE_CHECK_NAME}"))
        connection.execute(
            sa.text(f"ALTER TABLE {table} ADD CONSTRAINT {ROLE_CHECK_NAME} CHECK ({ROLE_CHECK})")
        )


def _rebuild_sqlite(engine: Engine, create_sql: str) -> None:
    table = agents_table.name
    start = create_sql.index("CHECK", create_sql.index(ROLE_CHECK_NAME))
    depth, end = 0, start
    for end in range(create_sql.index("(", start), len(create_sql)):
        depth += {"(": 1, ")": -1}.get(create_sql[end], 0)
        if depth == 0:
            break
    new_sql = create_sql[:start] + f"CHECK ({ROLE_CHECK})" + create_sql[end + 1 :]
    new_sql = new_sql.replace(f"TABLE {table}", f"TABLE {table}_widened", 1)
    new_sql = new_sql.replace(f'TABLE "{table}"', f"TABLE {table}_widened", 1)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(new_sql)
        cursor.execute(f"INSERT INTO {table}_widened SELECT * FROM {table}")
        cursor.execute(f"DROP TABLE {table}")
        cursor.execute(f"ALTER TABLE {table}_widened RENAME TO {table}")
        cursor.execute("COMMIT")
    except sqlite3.Error:
        raw.rollback()
        raise
    finally:
        raw.close()

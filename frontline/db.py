"""One SQLAlchemy engine per process and short-lived sessions.

Nothing connects at import time: the engine is created on first use.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker
from sqlalchemy.sql.schema import MetaData, Table

logger = logging.getLogger(__name__)

# SQLAlchemy 1.4 without its mypy plugin: the declarative base is dynamic to the checker.
Base: Any = declarative_base()

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
# Per engine (weakly, so disposed engines are forgotten), the tables checked already.
_ensured: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()
_ensured_lock = threading.Lock()

#: Key of the PostgreSQL advisory lock that creators of tables queue on ("FRONTLN\0").
_CREATE_TABLES_LOCK_KEY = 0x46524F4E544C4E00
#: Attempts where no lock can serialise creators (SQLite): each lost race leaves the
#: winner's tables behind, so the next attempt's existence check skips them.
_CREATE_TABLES_ATTEMPTS = 3


def get_engine(url: str) -> Engine:
    """Returns the process's engine for ``url``, creating it (and its tables) once."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create_engine(url)
            create_tables(engine)
            _engines[url] = engine
        return engine


def create_tables(
    engine: Engine, tables: list[Table] | None = None, metadata: MetaData = Base.metadata
) -> None:
    """Creates the tables that do not exist yet, also when several processes start at once.

    Two Sanic workers, or two instances and their action servers, reach a fresh
    database together; ``create_all`` checks, then creates, so a plain call loses that
    race with "already exists". On PostgreSQL, where DDL is transactional, creators
    queue on an advisory lock and each sees what the previous one created. Elsewhere
    (SQLite) a creator that lost the race tries again.

    Args:
        engine: The database.
        tables: Only these tables (all of ``metadata``'s by default).
        metadata: The tables' metadata (Frontline's own by default).
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CREATE_TABLES_LOCK_KEY}
            )
            metadata.create_all(connection, tables=tables)
        return
    for attempt in range(1, _CREATE_TABLES_ATTEMPTS + 1):
        try:
            metadata.create_all(engine, tables=tables)
            return
        except sa.exc.OperationalError:
            if attempt == _CREATE_TABLES_ATTEMPTS:
                raise
            logger.info("another process was creating tables at the same time; checking again")


def ensure_tables(
    engine: Engine, tables: list[Table], *, upgrade: Callable[[Engine], None] | None = None
) -> None:
    """Creates ``tables`` unless they exist, then runs ``upgrade``, once per engine.

    For a store whose tables may be defined after its engine was made (``get_engine``
    creates only the tables imported by then): the first use of the store checks them.
    """
    names = {table.name for table in tables}
    with _ensured_lock:
        done = _ensured.setdefault(engine, set())
        if names <= done:
            return
        create_tables(engine, tables)
        if upgrade is not None:
            upgrade(engine)
        done.update(names)


class UTCDateTime(sa.types.TypeDecorator):
    """Stores aware datetimes as naive UTC and reads them back as aware UTC.

    SQLite keeps no time zone, so a plain ``DateTime(timezone=True)`` would come back
    naive there; this type gives the same aware values on every database.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def create_indexes(engine: Engine, indexes: list[sa.Index]) -> None:
    """Creates the indexes that do not exist yet, on tables that do (as
    :func:`create_tables`, safe when several processes start at once).

    ``CREATE INDEX`` blocks writes to its table while it builds: instant on a new or
    small table. On a large table in production, build it beforehand with ``CREATE
    INDEX CONCURRENTLY`` under the same name; this then finds it and does nothing.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CREATE_TABLES_LOCK_KEY}
            )
            for index in indexes:
                index.create(connection, checkfirst=True)
        return
    # SQLite runs one DDL statement atomically; IF NOT EXISTS settles the race.
    with engine.begin() as connection:
        for index in indexes:
            connection.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def add_missing_columns(engine: Engine, table: Table, names: tuple[str, ...]) -> list[str]:
    """Adds columns of a later version to a table an earlier version created.

    A column with a server default is added ``NOT NULL`` with that default, any other
    as nullable. Safe when several processes start at once: a column another process
    added first is left alone.

    Returns:
        The names of the columns that were missing.
    """
    present = {column["name"] for column in sa.inspect(engine).get_columns(table.name)}
    missing = [name for name in names if name not in present]
    preparer = engine.dialect.identifier_preparer
    for name in missing:
        column = table.c[name]
        ddl = (
            f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN "
            f"{preparer.format_column(column)} {column.type.compile(dialect=engine.dialect)}"
        )
        if column.server_default is not None:
            ddl += f" NOT NULL DEFAULT {column.server_default.arg.text}"
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(ddl))
            logger.info("Added column %s to table %s", name, table.name)
        except sa.exc.DBAPIError:
            # Another process added it first.
            if name not in {c["name"] for c in sa.inspect(engine).get_columns(table.name)}:
                raise
    return missing


def _create_engine(url: str) -> Engine:
    parsed = sa.engine.make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLite serialises writers; a busy timeout lets concurrent writers wait.
        return sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    return sa.create_engine(url, pool_pre_ping=True, future=True)


@contextlib.contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """Provides a transactional scope around a series of operations."""
    session = sessionmaker(bind=get_engine(url), future=True)()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Closes every engine (tests, and processes that fork)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()

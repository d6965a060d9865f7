"""Database access: one engine per database URL per process, short sessions.

Nothing connects at import time: the engine is created on first use. The sandbox
has its own declarative ``Base`` (see :mod:`sandbox.models`); it shares nothing
with the assistant's tables.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool

from sandbox.models import Base

logger = logging.getLogger(__name__)


class Database:
    """A database URL with its lazily created engine and session factory.

    Args:
        url: SQLAlchemy URL (``sqlite:///...`` or ``postgresql://...``).
        pool_size: Connections kept open on servers with a connection pool.
    """

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = url
        self.pool_size = pool_size
        self._engine: Engine | None = None
        self._sessions: sessionmaker | None = None
        self._lock = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        """Whether the URL points at SQLite."""
        return sa.engine.make_url(self.url).get_backend_name() == "sqlite"

    @property
    def engine(self) -> Engine:
        """The engine, created on first access."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._create_engine()
                    self._sessions = sessionmaker(
                        bind=self._engine, future=True, expire_on_commit=False
                    )
        return self._engine

    def _create_engine(self) -> Engine:
        parsed = sa.engine.make_url(self.url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # SQLite serialises writers; the busy timeout lets a writer wait its turn.
            # A pool (SQLAlchemy 1.4 defaults to none for files) saves a connect per session.
            # An in-memory database lives in one connection: share it (ad-hoc use only).
            pool: dict[str, Any] = (
                {"poolclass": StaticPool}
                if parsed.database in (None, "", ":memory:")
                else {
                    "poolclass": QueuePool,
                    "pool_size": self.pool_size,
                    "max_overflow": self.pool_size,
                }
            )
            engine = sa.create_engine(
                self.url,
                future=True,
                connect_args={"check_same_thread": False, "timeout": 30},
                **pool,
            )
            sa.event.listen(engine, "connect", _configure_sqlite_connection)
        else:
            engine = sa.create_engine(
                self.url,
                future=True,
                pool_pre_ping=True,
                pool_size=self.pool_size,
                max_overflow=self.pool_size,
            )
        logger.info("sandbox database engine created for %s", parsed.render_as_string())
        return engine

    @contextlib.contextmanager
    def session_scope(self) -> Iterator[Session]:
        """A transactional scope: commits on success, rolls back on any error."""
        self.engine  # noqa: B018 - creates the session factory on first use
        assert self._sessions is not None
        session: Session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def create_tables(self) -> None:
        """Creates the sandbox tables that do not exist yet."""
        Base.metadata.create_all(self.engine)

    def drop_tables(self) -> None:
        """Drops every sandbox table (data included)."""
        Base.metadata.drop_all(self.engine)

    def dispose(self) -> None:
        """Closes the pooled connections (before forking, and at shutdown)."""
        if self._engine is not None:
            self._engine.dispose()


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run while a writer commits; foreign keys are off by default."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


_databases: dict[str, Database] = {}
_databases_lock = threading.Lock()


def get_database(url: str, *, pool_size: int = 8) -> Database:
    """The process's :class:`Database` for ``url`` (one engine per URL per process)."""
    with _databases_lock:
        database = _databases.get(url)
        if database is None:
            database = Database(url, pool_size=pool_size)
            _databases[url] = database
        return database


def dispose_all() -> None:
    """Closes every engine of this process (tests, and processes about to fork)."""
    with _databases_lock:
        for database in _databases.values():
            database.dispose()

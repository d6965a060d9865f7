"""The ``reviewer`` role: added with the command line, also to a database made before it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.support.processes import REPO_ROOT
from tests.support.servers import POSTGRES_URL, require_server

OLD_AGENTS_SQL = {  # desk_agents as the version before the reviewer role made it
    "sqlite": "CREATE TABLE desk_agents (id INTEGER NOT NULL, name VARCHAR(255) NOT NULL, "
    "role VARCHAR(16) NOT NULL, password_hash VARCHAR(255) NOT NULL, display_name VARCHAR(64), "
    "active BOOLEAN NOT NULL, created_at DATETIME NOT NULL, password_changed_at DATETIME NOT NULL, "
    "PRIMARY KEY (id), CONSTRAINT ck_desk_agents_role CHECK (role IN ('agent', 'supervisor')), "
    "UNIQUE (name))",
    "postgresql": "CREATE TABLE desk_agents (id BIGSERIAL PRIMARY KEY, name VARCHAR(255) NOT NULL "
    "UNIQUE, role VARCHAR(16) NOT NULL, password_hash VARCHAR(255) NOT NULL, display_name "
    "VARCHAR(64), active BOOLEAN NOT NULL, created_at TIMESTAMP NOT NULL, password_changed_at "
    "TIMESTAMP NOT NULL, CONSTRAINT ck_desk_agents_role CHECK (role IN ('agent', 'supervisor')))",
}
OLD_AGENT = (
    "INSERT INTO desk_agents (name, role, password_hash, active, created_at, password_changed_at)"
    " VALUES ('old-ana', 'supervisor', 'x', true, '2026-01-01', '2026-01-01')"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path) -> Iterator[str]:
    """A database whose desk_agents table predates the reviewer role."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        admin = None
    else:
        base = require_server(POSTGRES_URL, "PostgreSQL")
        name = f"review_role_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
        url = str(sa.engine.make_url(base).set(database=name))
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(OLD_AGENTS_SQL[request.param]))
        connection.execute(sa.text(OLD_AGENT))
    engine.dispose()
    yield url
    if admin is not None:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE {url.rsplit('/', 1)[1]} WITH (FORCE)"))
        admin.dispose()


def agents_command(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "desk.agents", "--database-url", url, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )


def test_a_reviewer_is_added_to_a_database_made_before_the_role(old_database: str) -> None:
    added = agents_command(
        old_database, "add", "--name", "rita", "--role", "reviewer", stdin="long enough secret\n"
    )
    listed = agents_command(old_database, "list")

    assert added.returncode == 0, added.stderr
    assert "Created reviewer rita." in added.stdout
    lines = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()}
    assert lines == {"old-ana": "supervisor", "rita": "reviewer"}
    # The check still refuses roles the desk does not know.
    engine = sa.create_engine(old_database)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text(OLD_AGENT.replace("old-ana", "x").replace("supervisor", "boss")))
    engine.dispose()

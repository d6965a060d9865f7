"""Agent accounts and their desk sessions in Frontline's SQL database (blocking calls).

Tables ``desk_agents`` and ``desk_sessions`` (:mod:`desk.accounts.tables`) are created on
first use. Passwords are in :mod:`desk.accounts.passwords`, the sessions' rules in
:mod:`desk.accounts.sessions`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from desk.accounts import sessions
from desk.accounts.model import (
    AccountError,
    AccountStoreUnavailable,
    Agent,
    check_display_name,
    check_name,
    check_role,
)
from desk.accounts.passwords import (
    DUMMY_HASH,
    MAX_PASSWORD_LENGTH,
    check_password,
    hash_password,
    verify_password,
)
from desk.accounts.tables import AGENT_COLUMNS, agent_of, agents_table, sessions_table
from desk.accounts.upgrade import widen_role_check
from frontline.db import add_missing_columns, ensure_tables, get_engine, session_scope
from frontline.handoff.entry import utcnow

logger = logging.getLogger(__name__)


def _add_later_columns(engine: Engine) -> None:
    """Adds the columns of later versions to tables an earlier one created."""
    add_missing_columns(engine, agents_table, ("display_name",))
    widen_role_check(engine)


class AgentStore:
    """Agent accounts and desk sessions in one SQL database (blocking calls).

    Args:
        database_url: SQLAlchemy URL (Frontline's database, see ``FRONTLINE_DATABASE_URL``).
        lifetime: Longest life of a session.
        idle: A session unused for this long ends.
        clock: The current time as an aware datetime.
    """

    def __init__(
        self,
        database_url: str,
        *,
        lifetime: timedelta = timedelta(hours=12),
        idle: timedelta = timedelta(minutes=30),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._url = database_url
        self.lifetime = lifetime
        self.idle = idle
        self._clock = clock

    @contextlib.contextmanager
    def _session(self) -> Iterator[Session]:
        """A transaction on the store's tables (created on first use).

        Raises:
            AccountStoreUnavailable: The database failed (chained to the driver's error).
        """
        try:
            tables = [agents_table, sessions_table]
            ensure_tables(get_engine(self._url), tables, upgrade=_add_later_columns)
            with session_scope(self._url) as session:
                yield session
        except (sa.exc.SQLAlchemyError, ImportError) as exc:
            cause = getattr(exc, "orig", None) or exc
            raise AccountStoreUnavailable(
                f"the desk's agent database failed: {type(cause).__name__}"
            ) from exc

    # -- agents_table --------------------------------------------------------------------

    def add_agent(
        self, name: str, role: str, password: str, display_name: str | None = None
    ) -> Agent:
        """Creates an agent.

        Raises:
            AccountError: Bad name, role, display name or password, or the name is taken.
        """
        check_name(name)
        display_name = check_display_name(display_name)
        check_role(role)
        check_password(password)
        now = self._clock()
        password_hash = hash_password(password)
        with self._session() as session:
            taken = session.execute(
                sa.select(agents_table.c.id).where(agents_table.c.name == name)
            ).first()
            if taken is None:
                session.execute(
                    agents_table.insert().values(
                        name=name,
                        role=role,
                        password_hash=password_hash,
                        display_name=display_name,
                        active=True,
                        created_at=now,
                        password_changed_at=now,
                    )
                )
        if taken is not None:
            raise AccountError(f"an agent named {name!r} exists already")
        logger.info("Created desk agent %s (%s)", name, role)
        return Agent(name, role, True, display_name)

    def get_agent(self, name: str) -> Agent | None:
        """The agent with this name, or None."""
        with self._session() as session:
            row = session.execute(
                sa.select(*AGENT_COLUMNS).where(agents_table.c.name == name)
            ).first()
        return agent_of(row) if row else None

    def list_agents(self) -> list[Agent]:
        """Every agent, by name."""
        with self._session() as session:
            rows = session.execute(sa.select(*AGENT_COLUMNS).order_by(agents_table.c.name)).all()
        return [agent_of(row) for row in rows]

    def set_password(self, name: str, password: str) -> None:
        """Replaces an agent's password and ends their sessions.

        Raises:
            AccountError: Unknown agent or unusable password.
        """
        check_password(password)
        self._update_agent(
            name, password_hash=hash_password(password), password_changed_at=self._clock()
        )
        logger.info("Changed the password of desk agent %s", name)

    def set_active(self, name: str, active: bool) -> None:
        """Enables or disables an agent; disabling ends their sessions.

        Raises:
            AccountError: Unknown agent.
        """
        self._update_agent(name, active=active)
        logger.info("%s desk agent %s", "Enabled" if active else "Disabled", name)

    def set_display_name(self, name: str, display_name: str | None) -> None:
        """Changes how customers see the agent (None: "Support team").

        Raises:
            AccountError: Unknown agent or unusable display name.
        """
        self._update_agent(name, display_name=check_display_name(display_name))

    def set_role(self, name: str, role: str) -> None:
        """Changes an agent's role; ends their sessions so the new role applies at once.

        Raises:
            AccountError: Unknown agent or role.
        """
        self._update_agent(name, role=check_role(role))

    def _update_agent(self, name: str, **values: object) -> None:
        with self._session() as session:
            agent_id = session.execute(
                sa.select(agents_table.c.id).where(agents_table.c.name == name)
            ).scalar_one_or_none()
            if agent_id is None:
                raise AccountError(f"no agent is named {name!r}")
            session.execute(
                sa.update(agents_table).where(agents_table.c.id == agent_id).values(**values)
            )
            sessions.end_all(session, agent_id)

    # -- sign-in and sessions --------------------------------------------------------

    def authenticate(self, name: str, password: str) -> Agent | None:
        """The active agent with this name and password, or None (slow on purpose)."""
        if not isinstance(name, str) or not isinstance(password, str):
            return None
        if len(password) > MAX_PASSWORD_LENGTH:
            return None
        with self._session() as session:
            row = session.execute(
                sa.select(*AGENT_COLUMNS, agents_table.c.password_hash).where(
                    agents_table.c.name == name
                )
            ).first()
        if row is None:
            verify_password(password, DUMMY_HASH)
            return None
        if not verify_password(password, row.password_hash) or not row.active:
            return None
        return agent_of(row)

    def start_session(self, agent: Agent) -> str:
        """Creates a session for a signed-in agent and returns its token (shown once)."""
        with self._session() as session:
            token = sessions.start(session, agent.name, self._clock(), self.lifetime)
        logger.info("Desk agent %s signed in", agent.name)
        return token

    def session_agent(self, token: str) -> Agent | None:
        """The agent of a live session, or None (unknown, ended, idle or expired)."""
        if not isinstance(token, str) or not 10 <= len(token) <= 256:
            return None
        with self._session() as session:
            return sessions.agent_of_token(session, token, self._clock(), self.idle)

    def end_session(self, token: str) -> tuple[Agent | None, int]:
        """Ends a session.

        Returns:
            The session's agent (None if the token was unknown) and how many live
            sessions that agent still has.
        """
        agent = self.session_agent(token)
        now = self._clock()
        with self._session() as session:
            sessions.end(session, token)
            if agent is None:
                return None, 0
            remaining = sessions.live_count(session, agent.name, now, self.idle)
        logger.info("Desk agent %s signed out", agent.name)
        return agent, remaining

    def purge_sessions(self) -> int:
        """Deletes ended sessions; returns how many."""
        with self._session() as session:
            return sessions.purge(session, self._clock(), self.idle)

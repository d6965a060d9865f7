"""Agents, their passwords and their desk sessions, in Frontline's SQL database.

* Passwords are hashed with scrypt (``hashlib.scrypt``) and a random salt per agent;
  the parameters travel in the stored hash, so they can be raised later without
  invalidating existing passwords. Checking an unknown name costs the same as
  checking a known one, so sign-in does not reveal which names exist.
* A session is a random 256-bit token given to the browser (an HttpOnly cookie) or to
  an API client (a bearer token); only its SHA-256 is stored, so a copy of the
  database does not let anyone sign in.
* Sessions end when signed out, after ``idle`` without use, or after ``lifetime``.

Tables: ``desk_agents`` and ``desk_sessions`` (created on first use).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from frontline.db import Base, create_tables, get_engine, session_scope
from frontline.errors import FrontlineError
from frontline.handoff.base import MAX_AGENT_ID_LENGTH, utcnow
from frontline.handoff.sql_queue import UTCDateTime
from frontline.handoff.transitions import AGENT, ROLES

logger = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MAX_DISPLAY_NAME_LENGTH = 64
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024

# scrypt at OWASP's N=2^15, r=8, p=3 (32 MiB, about half a second here).
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 3
SALT_BYTES = 16
KEY_BYTES = 32
_MAX_SCRYPT_N = 2**20

TOKEN_BYTES = 32
#: Sessions' ``last_seen_at`` is written at most this often (not on every request).
TOUCH_INTERVAL = timedelta(seconds=30)


class AccountError(FrontlineError):
    """An agent account cannot be created or changed as asked."""


class AccountStoreUnavailable(FrontlineError):
    """The database of agents and sessions could not be used."""


@dataclass(frozen=True)
class Agent:
    """A human agent who signs in to the desk.

    Attributes:
        name: The agent's sign-in name; also their id on the handoff queue.
        role: ``agent`` or ``supervisor``.
        active: Disabled agents cannot sign in.
        display_name: How customers see the agent ("Ana"); None shows "Support team".
            The sign-in name is never shown to customers.
    """

    name: str
    role: str
    active: bool = True
    display_name: str | None = None

    def public(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role,
            "active": self.active,
            "display_name": self.display_name,
        }


class AgentRow(Base):
    """One agent account."""

    __tablename__ = "desk_agents"
    __table_args__ = (
        sa.CheckConstraint("role IN ('agent', 'supervisor')", name="ck_desk_agents_role"),
    )

    id = sa.Column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    name = sa.Column(sa.String(MAX_AGENT_ID_LENGTH), nullable=False, unique=True)
    role = sa.Column(sa.String(16), nullable=False, default=AGENT)
    password_hash = sa.Column(sa.String(255), nullable=False)
    display_name = sa.Column(sa.String(MAX_DISPLAY_NAME_LENGTH))
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    created_at = sa.Column(UTCDateTime, nullable=False)
    password_changed_at = sa.Column(UTCDateTime, nullable=False)


class SessionRow(Base):
    """One signed-in desk session (the token itself is never stored)."""

    __tablename__ = "desk_sessions"

    id = sa.Column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    token_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    agent_id = sa.Column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey("desk_agents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    created_at = sa.Column(UTCDateTime, nullable=False)
    last_seen_at = sa.Column(UTCDateTime, nullable=False)
    expires_at = sa.Column(UTCDateTime, nullable=False)


_agents: sa.Table = AgentRow.__table__
_sessions: sa.Table = SessionRow.__table__
_AGENT_COLUMNS = (_agents.c.name, _agents.c.role, _agents.c.active, _agents.c.display_name)


def _agent(row: sa.engine.Row) -> Agent:
    return Agent(row.name, row.role, bool(row.active), row.display_name)


# -- passwords -----------------------------------------------------------------------


def hash_password(password: str) -> str:
    """Hashes a password with scrypt and a fresh salt.

    Returns:
        ``scrypt$<n>$<r>$<p>$<salt>$<key>`` with the salt and key in base64.
    """
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(key)))


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password` (constant time)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        n_, r_, p_ = int(n), int(r), int(p)
        if scheme != "scrypt" or not (1 < n_ <= _MAX_SCRYPT_N and 0 < r_ <= 32 and 0 < p_ <= 16):
            return False
        expected = base64.b64decode(key, validate=True)
        computed = _scrypt(password, base64.b64decode(salt, validate=True), n_, r_, p_)
    except ValueError:
        logger.error("A stored desk password hash is malformed")
        return False
    return hmac.compare_digest(computed, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=256 * n * r + 1024 * 1024,
        dklen=KEY_BYTES,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


#: Checked against when the name is unknown, so that costs as much as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def check_name(name: str) -> str:
    """Checks an agent name: 2-64 characters, lowercase letters, digits, ``.``, ``_``, ``-``.

    Raises:
        AccountError: The name does not fit.
    """
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise AccountError(
            "agent names have 2 to 64 characters: lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_display_name(display_name: str | None) -> str | None:
    """Checks a display name: printable, at most 64 characters; empty means none.

    Raises:
        AccountError: The name does not fit.
    """
    if display_name is None:
        return None
    if not isinstance(display_name, str):
        raise AccountError("the display name must be text")
    display_name = " ".join(display_name.split())
    if len(display_name) > MAX_DISPLAY_NAME_LENGTH or not display_name.isprintable():
        raise AccountError(f"display names are printable, at most {MAX_DISPLAY_NAME_LENGTH} long")
    return display_name or None


def check_password(password: str) -> str:
    """Checks a new password's length.

    Raises:
        AccountError: Shorter than :data:`MIN_PASSWORD_LENGTH` or absurdly long.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"passwords have at most {MAX_PASSWORD_LENGTH} characters")
    return password


def token_digest(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- the store -----------------------------------------------------------------------


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
        self._ready = False
        self._ready_lock = threading.Lock()

    @contextlib.contextmanager
    def _session(self) -> Iterator[Session]:
        """A transaction on the store's tables (created on first use).

        Raises:
            AccountStoreUnavailable: The database failed (chained to the driver's error).
        """
        try:
            if not self._ready:
                with self._ready_lock:
                    if not self._ready:
                        engine = get_engine(self._url)
                        create_tables(engine, [_agents, _sessions])
                        _add_missing_columns(engine, _agents, ("display_name",))
                        self._ready = True
            with session_scope(self._url) as session:
                yield session
        except (sa.exc.SQLAlchemyError, ImportError) as exc:
            cause = getattr(exc, "orig", None) or exc
            raise AccountStoreUnavailable(
                f"the desk's agent database failed: {type(cause).__name__}"
            ) from exc

    # -- agents --------------------------------------------------------------------

    def add_agent(
        self, name: str, role: str, password: str, display_name: str | None = None
    ) -> Agent:
        """Creates an agent.

        Raises:
            AccountError: Bad name, role, display name or password, or the name is taken.
        """
        check_name(name)
        display_name = check_display_name(display_name)
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        check_password(password)
        now = self._clock()
        password_hash = hash_password(password)
        with self._session() as session:
            taken = session.execute(sa.select(_agents.c.id).where(_agents.c.name == name)).first()
            if taken is None:
                session.execute(
                    _agents.insert().values(
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
            row = session.execute(sa.select(*_AGENT_COLUMNS).where(_agents.c.name == name)).first()
        return _agent(row) if row else None

    def list_agents(self) -> list[Agent]:
        """Every agent, by name."""
        with self._session() as session:
            rows = session.execute(sa.select(*_AGENT_COLUMNS).order_by(_agents.c.name)).all()
        return [_agent(row) for row in rows]

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
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        self._update_agent(name, role=role)

    def _update_agent(self, name: str, **values: object) -> None:
        with self._session() as session:
            agent_id = session.execute(
                sa.select(_agents.c.id).where(_agents.c.name == name)
            ).scalar_one_or_none()
            if agent_id is None:
                raise AccountError(f"no agent is named {name!r}")
            session.execute(sa.update(_agents).where(_agents.c.id == agent_id).values(**values))
            session.execute(sa.delete(_sessions).where(_sessions.c.agent_id == agent_id))

    # -- sign-in and sessions --------------------------------------------------------

    def authenticate(self, name: str, password: str) -> Agent | None:
        """The active agent with this name and password, or None (slow on purpose)."""
        if not isinstance(name, str) or not isinstance(password, str):
            return None
        if len(password) > MAX_PASSWORD_LENGTH:
            return None
        with self._session() as session:
            row = session.execute(
                sa.select(*_AGENT_COLUMNS, _agents.c.password_hash).where(_agents.c.name == name)
            ).first()
        if row is None:
            verify_password(password, _DUMMY_HASH)
            return None
        if not verify_password(password, row.password_hash) or not row.active:
            return None
        return _agent(row)

    def start_session(self, agent: Agent) -> str:
        """Creates a session for a signed-in agent and returns its token (shown once)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock()
        with self._session() as session:
            agent_id = session.execute(
                sa.select(_agents.c.id).where(_agents.c.name == agent.name)
            ).scalar_one()
            session.execute(
                _sessions.insert().values(
                    token_hash=token_digest(token),
                    agent_id=agent_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.lifetime,
                )
            )
        logger.info("Desk agent %s signed in", agent.name)
        return token

    def session_agent(self, token: str) -> Agent | None:
        """The agent of a live session, or None (unknown, ended, idle or expired)."""
        if not isinstance(token, str) or not 10 <= len(token) <= 256:
            return None
        now = self._clock()
        with self._session() as session:
            row = session.execute(
                sa.select(
                    _sessions.c.id,
                    _sessions.c.last_seen_at,
                    _sessions.c.expires_at,
                    *_AGENT_COLUMNS,
                )
                .join(_agents, _agents.c.id == _sessions.c.agent_id)
                .where(_sessions.c.token_hash == token_digest(token))
            ).first()
            if row is None:
                return None
            if not row.active or row.expires_at <= now or now - row.last_seen_at > self.idle:
                session.execute(sa.delete(_sessions).where(_sessions.c.id == row.id))
                return None
            if now - row.last_seen_at > TOUCH_INTERVAL:
                session.execute(
                    sa.update(_sessions).where(_sessions.c.id == row.id).values(last_seen_at=now)
                )
        return _agent(row)

    def end_session(self, token: str) -> tuple[Agent | None, int]:
        """Ends a session.

        Returns:
            The session's agent (None if the token was unknown) and how many live
            sessions that agent still has.
        """
        agent = self.session_agent(token)
        now = self._clock()
        with self._session() as session:
            session.execute(
                sa.delete(_sessions).where(_sessions.c.token_hash == token_digest(token))
            )
            if agent is None:
                return None, 0
            remaining = session.execute(
                sa.select(sa.func.count())
                .select_from(_sessions.join(_agents, _agents.c.id == _sessions.c.agent_id))
                .where(
                    _agents.c.name == agent.name,
                    _sessions.c.expires_at > now,
                    _sessions.c.last_seen_at > now - self.idle,
                )
            ).scalar_one()
        logger.info("Desk agent %s signed out", agent.name)
        return agent, int(remaining)

    def purge_sessions(self) -> int:
        """Deletes ended sessions; returns how many."""
        now = self._clock()
        with self._session() as session:
            result = session.execute(
                sa.delete(_sessions).where(
                    sa.or_(
                        _sessions.c.expires_at <= now, _sessions.c.last_seen_at <= now - self.idle
                    )
                )
            )
        return int(result.rowcount or 0)


def _add_missing_columns(engine: sa.engine.Engine, table: sa.Table, names: tuple[str, ...]) -> None:
    """Adds nullable columns of a later version to a table created by an earlier one."""
    present = {column["name"] for column in sa.inspect(engine).get_columns(table.name)}
    preparer = engine.dialect.identifier_preparer
    for name in names:
        if name in present:
            continue
        column = table.c[name]
        ddl = (
            f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN "
            f"{preparer.format_column(column)} {column.type.compile(dialect=engine.dialect)}"
        )
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(ddl))
            logger.info("Added column %s to table %s", name, table.name)
        except sa.exc.DBAPIError:
            # Another process added it first.
            if name not in {c["name"] for c in sa.inspect(engine).get_columns(table.name)}:
                raise


class SignInThrottle:
    """Slows down password guessing: a few failures per name and address, then a pause.

    In-process (the desk runs as one process); a restart forgets the failures.

    Args:
        max_failures: Failures allowed within ``window`` seconds.
        window: Seconds a failure counts for.
    """

    def __init__(self, max_failures: int = 5, window: float = 900.0) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, *keys: str) -> bool:
        """Whether any key has used up its failures."""
        now = time.monotonic()
        with self._lock:
            return any(self._count(key, now) >= self.max_failures for key in keys)

    def failed(self, *keys: str) -> None:
        """Records a failed sign-in for each key."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 10_000:  # bounded memory under a spray of names
                self._failures = {
                    key: failures
                    for key, failures in self._failures.items()
                    if failures and failures[-1] >= now - self.window
                }
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, *keys: str) -> None:
        """Forgets the failures of each key."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _count(self, key: str, now: float) -> int:
        failures = self._failures.get(key)
        if not failures:
            return 0
        while failures and failures[0] < now - self.window:
            failures.popleft()
        return len(failures)

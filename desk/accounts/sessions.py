"""Desk sessions: random tokens, stored only as their SHA-256, that end on their own.

A session is a random 256-bit token given to the browser (an HttpOnly cookie) or to
an API client (a bearer token); only its SHA-256 is stored, so a copy of the database
does not let anyone sign in. Sessions end when signed out, after ``idle`` without use,
or after ``lifetime``. Each function runs inside the caller's transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desk.accounts.model import Agent
from desk.accounts.tables import AGENT_COLUMNS, agent_of, agents_table, sessions_table

TOKEN_BYTES = 32
#: Sessions' ``last_seen_at`` is written at most this often (not on every request).
TOUCH_INTERVAL = timedelta(seconds=30)


def token_digest(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, agent_name: str, now: datetime, lifetime: timedelta) -> str:
    """Creates a session for the agent; returns its token (shown once)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    agent_id = session.execute(
        sa.select(agents_table.c.id).where(agents_table.c.name == agent_name)
    ).scalar_one()
    session.execute(
        sessions_table.insert().values(
            token_hash=token_digest(token),
            agent_id=agent_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


def agent_of_token(session: Session, token: str, now: datetime, idle: timedelta) -> Agent | None:
    """The agent of a live session (which is marked as used), or None.

    A session that has ended (idle, expired, agent disabled) is deleted.
    """
    row = session.execute(
        sa.select(
            sessions_table.c.id,
            sessions_table.c.last_seen_at,
            sessions_table.c.expires_at,
            *AGENT_COLUMNS,
        )
        .join(agents_table, agents_table.c.id == sessions_table.c.agent_id)
        .where(sessions_table.c.token_hash == token_digest(token))
    ).first()
    if row is None:
        return None
    if not row.active or row.expires_at <= now or now - row.last_seen_at > idle:
        session.execute(sa.delete(sessions_table).where(sessions_table.c.id == row.id))
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        session.execute(
            sa.update(sessions_table).where(sessions_table.c.id == row.id).values(last_seen_at=now)
        )
    return agent_of(row)


def end(session: Session, token: str) -> None:
    """Deletes the session of ``token`` (if any)."""
    session.execute(
        sa.delete(sessions_table).where(sessions_table.c.token_hash == token_digest(token))
    )


def live_count(session: Session, agent_name: str, now: datetime, idle: timedelta) -> int:
    """How many live sessions the agent has."""
    return int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(
                sessions_table.join(agents_table, agents_table.c.id == sessions_table.c.agent_id)
            )
            .where(
                agents_table.c.name == agent_name,
                sessions_table.c.expires_at > now,
                sessions_table.c.last_seen_at > now - idle,
            )
        ).scalar_one()
    )


def purge(session: Session, now: datetime, idle: timedelta) -> int:
    """Deletes ended sessions; returns how many."""
    result = session.execute(
        sa.delete(sessions_table).where(
            sa.or_(sessions_table.c.expires_at <= now, sessions_table.c.last_seen_at <= now - idle)
        )
    )
    return int(result.rowcount or 0)


def end_all(session: Session, agent_id: int) -> None:
    """Ends every session of an agent (by the agent's row id)."""
    session.execute(sa.delete(sessions_table).where(sessions_table.c.agent_id == agent_id))

"""The tables of agent accounts and desk sessions (``desk_agents``, ``desk_sessions``)."""

from __future__ import annotations

import sqlalchemy as sa

from desk.accounts.model import MAX_DISPLAY_NAME_LENGTH, Agent
from frontline.db import Base, UTCDateTime
from frontline.handoff.entry import MAX_AGENT_ID_LENGTH
from frontline.handoff.transitions import AGENT, ROLES

#: The check that a role is one of the desk's (named, so a later version can widen it).
ROLE_CHECK_NAME = "ck_desk_agents_role"
ROLE_CHECK = "role IN ({})".format(", ".join(f"'{role}'" for role in ROLES))


class AgentRow(Base):
    """One agent account."""

    __tablename__ = "desk_agents"
    __table_args__ = (sa.CheckConstraint(ROLE_CHECK, name=ROLE_CHECK_NAME),)

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


agents_table: sa.Table = AgentRow.__table__
sessions_table: sa.Table = SessionRow.__table__
#: What an :class:`Agent` is read from.
AGENT_COLUMNS = (
    agents_table.c.name,
    agents_table.c.role,
    agents_table.c.active,
    agents_table.c.display_name,
)


def agent_of(row: sa.engine.Row) -> Agent:
    """The agent of a row holding :data:`AGENT_COLUMNS`."""
    return Agent(row.name, row.role, bool(row.active), row.display_name)

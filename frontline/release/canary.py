"""The canary: which arm (production or candidate model) answers a conversation.

State shared by every instance through the database (SQLite on a laptop, PostgreSQL when
several instances run), so every router agrees:

* ``release_canary``: one row per deployment (``name``): the candidate and production
  model ids, the percentage, the bucket and the status (``active``, ``promoted``,
  ``rolled_back``), who changed it and when.
* ``release_arm_assignments``: the arm each conversation was given on its first message.
  A conversation keeps its arm to the end even if the customer verifies mid-way (the
  sticky key then changes from the conversation to the customer); inserted once, the
  first writer wins, so two instances seeing the same conversation at once agree.

The arm is :func:`choose_arm`: the flags' sticky hash (:func:`frontline.flags.evaluation.bucket`)
of the canary's bucket and the targeting key (``customer:<pseudonym>`` once verified,
else ``conversation:<id>``), the same key the feature flags use, so a known customer gets
the same arm on every channel.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from frontline.db import Base, create_tables, get_engine
from frontline.flags.evaluation import bucket

logger = logging.getLogger(__name__)

PRODUCTION = "production"
CANDIDATE = "candidate"
ARMS = (PRODUCTION, CANDIDATE)
ACTIVE = "active"
PROMOTED = "promoted"
ROLLED_BACK = "rolled_back"
DEFAULT_DEPLOYMENT = "default"
#: Engines whose canary tables exist (checked once per process and database).
_ready: set[int] = set()

canary_table = sa.Table(
    "release_canary",
    Base.metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("candidate_model", sa.String(64), nullable=False),
    sa.Column("production_model", sa.String(64), nullable=False),
    sa.Column("percentage", sa.Float, nullable=False),
    sa.Column("bucket", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

assignments_table = sa.Table(
    "release_arm_assignments",
    Base.metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("candidate_model", sa.String(64), primary_key=True),
    sa.Column("conversation_id", sa.String(255), primary_key=True),
    sa.Column("arm", sa.String(16), nullable=False),
    sa.Column("targeting_key", sa.String(300), nullable=False),
    sa.Column("assigned_at", sa.Float, nullable=False),
)


def targeting_key(conversation_id: str, customer_key: str | None) -> str:
    """What the arm sticks to: the pseudonymous customer once known, else the conversation."""
    if customer_key:
        return f"customer:{customer_key}"
    return f"conversation:{conversation_id}"


def choose_arm(key: str, percentage: float, salt: str) -> str:
    """``candidate`` for ``percentage`` % of keys (stable for a key and salt), else production."""
    return CANDIDATE if bucket(salt, key) < percentage else PRODUCTION


@dataclass(frozen=True)
class Canary:
    """One deployment's canary."""

    name: str
    candidate_model: str
    production_model: str
    percentage: float
    bucket: str
    status: str
    actor: str
    reason: str
    started_at: float
    updated_at: float

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def model_of(self, arm: str) -> str:
        return self.candidate_model if arm == CANDIDATE else self.production_model

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Assignment:
    """The arm of one conversation and the model that answers it."""

    arm: str
    model_id: str | None


class CanaryStore:
    """The canary state and the arm assignments in one SQL database."""

    def __init__(self, url: str, name: str = DEFAULT_DEPLOYMENT) -> None:
        self.url = url
        self.name = name

    def _engine(self) -> Engine:
        engine = get_engine(self.url)
        if id(engine) not in _ready:
            create_tables(engine, [canary_table, assignments_table])
            _ready.add(id(engine))
        return engine

    def current(self) -> Canary | None:
        """The latest canary of this deployment (active or finished), or None."""
        with self._engine().connect() as connection:
            row = connection.execute(
                sa.select(canary_table).where(canary_table.c.name == self.name)
            ).first()
        return Canary(**row._mapping) if row else None

    def start(
        self,
        candidate_model: str,
        production_model: str,
        percentage: float,
        salt: str,
        *,
        actor: str,
        reason: str,
        now: float | None = None,
    ) -> Canary:
        """Starts (or restarts) the canary of this deployment.

        Raises:
            ValueError: the percentage is outside (0, 100].
        """
        if not 0 < percentage <= 100:
            raise ValueError("a canary's percentage is above 0 and at most 100")
        moment = time.time() if now is None else now
        values = {
            "candidate_model": candidate_model,
            "production_model": production_model,
            "percentage": float(percentage),
            "bucket": salt,
            "status": ACTIVE,
            "actor": actor,
            "reason": reason,
            "started_at": moment,
            "updated_at": moment,
        }
        with self._engine().begin() as connection:
            changed = connection.execute(
                canary_table.update().where(canary_table.c.name == self.name).values(**values)
            ).rowcount
            if not changed:
                connection.execute(canary_table.insert().values(name=self.name, **values))
        current = self.current()
        assert current is not None
        return current

    def finish(self, status: str, *, actor: str, reason: str, now: float | None = None) -> Canary:
        """Ends the active canary as ``promoted`` or ``rolled_back``.

        Raises:
            LookupError: no canary is active.
        """
        moment = time.time() if now is None else now
        with self._engine().begin() as connection:
            changed = connection.execute(
                canary_table.update()
                .where(canary_table.c.name == self.name, canary_table.c.status == ACTIVE)
                .values(status=status, actor=actor, reason=reason, updated_at=moment)
            ).rowcount
        if not changed:
            raise LookupError(f"no active canary in deployment {self.name!r}")
        current = self.current()
        assert current is not None
        return current

    def assign(
        self, conversation_id: str, customer_key: str | None = None, now: float | None = None
    ) -> Assignment:
        """The arm of a conversation: pinned on its first message while a canary is active.

        Without an active canary every conversation is production's (model id None: the
        production server's own).
        """
        canary = self.current()
        if canary is None or not canary.active:
            return Assignment(PRODUCTION, canary.production_model if canary else None)
        table = assignments_table
        where = (
            (table.c.name == self.name)
            & (table.c.candidate_model == canary.candidate_model)
            & (table.c.conversation_id == conversation_id)
        )
        engine = self._engine()
        with engine.connect() as connection:
            pinned = connection.execute(sa.select(table.c.arm).where(where)).scalar()
        if pinned is None:
            key = targeting_key(conversation_id, customer_key)
            arm = choose_arm(key, canary.percentage, canary.bucket)
            try:
                with engine.begin() as connection:
                    connection.execute(
                        table.insert().values(
                            name=self.name,
                            candidate_model=canary.candidate_model,
                            conversation_id=conversation_id,
                            arm=arm,
                            targeting_key=key,
                            assigned_at=time.time() if now is None else now,
                        )
                    )
                pinned = arm
            except IntegrityError:
                # Another instance pinned it first: its choice stands.
                with engine.connect() as connection:
                    pinned = connection.execute(sa.select(table.c.arm).where(where)).scalar()
        return Assignment(str(pinned), canary.model_of(str(pinned)))

"""Who was verified in which conversation: Frontline's own record, not the tracker's slots.

The action server receives the whole tracker in each request body; its
``customer_verified`` and ``customer_id`` slots are whatever the caller posted. The
verification action therefore writes the result of the CRM check here (conversation,
customer, when, how), and every write (:mod:`frontline.writes`) and every read of
account data asks this store, never the posted slots.

Usage::

    from frontline.identity import create
    store = create({"type": "sql", "url": "sqlite:///var/frontline.db"})
    store.record("rest:abc", "C1001", method="email+order_id")
    store.verified_customer("rest:abc")  # -> "C1001"

Implementations: ``sql`` (SQLite by default, PostgreSQL by URL, through the process's
engine of :mod:`frontline.db`) and ``memory`` (tests, one process).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from frontline.backends import Backend, backend_type, backend_url
from frontline.db import Base, UTCDateTime, ensure_tables, get_engine, session_scope
from frontline.errors import FrontlineError
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

STORE_TYPES = ("sql", "memory")
#: A verification older than this no longer counts (the customer verifies again).
DEFAULT_MAX_AGE = timedelta(hours=12)
MAX_ID_LENGTH = 255


class IdentityError(FrontlineError):
    """The identity store could not record or read a verification."""


@dataclass(frozen=True)
class Verification:
    """One successful verification of a customer in a conversation.

    Attributes:
        conversation_id: Rasa's sender id.
        customer_id: The CRM's customer id the check matched.
        verified_at: When (UTC).
        method: How (``email+order_id``, ``email+zip_code``).
    """

    conversation_id: str
    customer_id: str
    verified_at: datetime
    method: str


class IdentityStore(Backend):
    """Verified customers by conversation.

    Args:
        max_age: How long a verification counts.
    """

    def __init__(self, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        self.max_age = max_age

    def record(self, conversation_id: str, customer_id: str, *, method: str) -> Verification:
        """Records (or replaces) the conversation's verified customer."""
        verification = Verification(
            conversation_id[:MAX_ID_LENGTH],
            customer_id[:MAX_ID_LENGTH],
            datetime.now(timezone.utc),
            method[:64],
        )
        self._save(verification)
        logger.info("Customer verified server-side in %s by %s", conversation_id, method)
        return verification

    def verification(self, conversation_id: str) -> Verification | None:
        """The conversation's verification, if it is recent enough."""
        found = self._load(conversation_id[:MAX_ID_LENGTH])
        if found is None or datetime.now(timezone.utc) - found.verified_at > self.max_age:
            return None
        return found

    def verified_customer(self, conversation_id: str) -> str | None:
        """The customer verified in this conversation (None: nobody, or too long ago)."""
        found = self.verification(conversation_id)
        return found.customer_id if found else None

    def forget(self, conversation_id: str) -> None:
        """Drops the conversation's verification (restart, erasure)."""
        self._delete(conversation_id[:MAX_ID_LENGTH])

    async def verified_customer_async(self, conversation_id: str) -> str | None:
        """:meth:`verified_customer` off the event loop (the SQL store may touch disk)."""
        return await asyncio.to_thread(self.verified_customer, conversation_id)

    async def record_async(
        self, conversation_id: str, customer_id: str, *, method: str
    ) -> Verification:
        """:meth:`record` off the event loop."""
        return await asyncio.to_thread(self.record, conversation_id, customer_id, method=method)

    def _save(self, verification: Verification) -> None:
        raise NotImplementedError

    def _load(self, conversation_id: str) -> Verification | None:
        raise NotImplementedError

    def _delete(self, conversation_id: str) -> None:
        raise NotImplementedError


class MemoryIdentityStore(IdentityStore):
    """Verifications in this process's memory."""

    def __init__(self, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        super().__init__(max_age)
        self._rows: dict[str, Verification] = {}
        self._lock = threading.Lock()

    def _save(self, verification: Verification) -> None:
        with self._lock:
            self._rows[verification.conversation_id] = verification

    def _load(self, conversation_id: str) -> Verification | None:
        with self._lock:
            return self._rows.get(conversation_id)

    def _delete(self, conversation_id: str) -> None:
        with self._lock:
            self._rows.pop(conversation_id, None)


class VerificationRow(Base):
    """The latest verification of one conversation."""

    __tablename__ = "identity_verifications"

    conversation_id = sa.Column(sa.String(MAX_ID_LENGTH), primary_key=True)
    customer_id = sa.Column(sa.String(MAX_ID_LENGTH), nullable=False, index=True)
    verified_at = sa.Column(UTCDateTime, nullable=False)
    method = sa.Column(sa.String(64), nullable=False)


_table: sa.Table = VerificationRow.__table__


class SqlIdentityStore(IdentityStore):
    """Verifications in SQL (the ``identity_verifications`` table); connects on first use."""

    def __init__(self, database_url: str, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        super().__init__(max_age)
        self.database_url = database_url

    def __repr__(self) -> str:
        url = sa.engine.make_url(self.database_url).render_as_string(hide_password=True)
        return f"SqlIdentityStore({url!r})"

    def _session(self) -> Any:
        ensure_tables(get_engine(self.database_url), [_table])
        return session_scope(self.database_url)

    def _save(self, verification: Verification) -> None:
        try:
            with self._session() as session:
                row = session.get(VerificationRow, verification.conversation_id)
                if row is None:
                    session.add(VerificationRow(**verification.__dict__))
                else:
                    row.customer_id = verification.customer_id
                    row.verified_at = verification.verified_at
                    row.method = verification.method
        except sa.exc.SQLAlchemyError as exc:
            raise IdentityError(f"could not record the verification of {verification}") from exc

    def _load(self, conversation_id: str) -> Verification | None:
        try:
            with self._session() as session:
                row = session.get(VerificationRow, conversation_id)
                if row is None:
                    return None
                return Verification(
                    row.conversation_id, row.customer_id, row.verified_at, row.method
                )
        except sa.exc.SQLAlchemyError as exc:
            raise IdentityError(f"could not read the verification of {conversation_id}") from exc

    def _delete(self, conversation_id: str) -> None:
        try:
            with self._session() as session:
                session.execute(
                    sa.delete(VerificationRow).where(
                        VerificationRow.conversation_id == conversation_id
                    )
                )
        except sa.exc.SQLAlchemyError as exc:
            raise IdentityError(f"could not forget the verification of {conversation_id}") from exc


def create(config: Mapping[str, Any]) -> IdentityStore:
    """Builds an identity store: ``{"type": "sql", "url": ...}`` or ``{"type": "memory"}``."""
    chosen = backend_type(config, STORE_TYPES, "identity store")
    if chosen == "memory":
        return MemoryIdentityStore()
    return SqlIdentityStore(backend_url(config, chosen, "identity store"))


@lru_cache(maxsize=1)
def identity_store() -> IdentityStore:
    """The process's identity store, in Frontline's own database (``FRONTLINE_DATABASE_URL``)."""
    return create({"type": "sql", "url": get_settings().database_url})

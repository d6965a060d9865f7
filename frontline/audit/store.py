"""The append-only, tamper-evident audit trail in SQL (SQLite by default, PostgreSQL by URL).

Tables (created on first use through :mod:`frontline.db`):

* ``audit_records``: one row per record: ``chain``, ``seq`` (1, 2, 3, ...),
  ``prev_hash``, ``record_hash``, ``recorded_at``, ``kind``, ``conversation_id`` and
  ``payload`` (canonical JSON, personal data masked per the data-handling policy's
  ``audit`` place).
* ``audit_chain_heads``: one row per chain with the last ``seq`` and hash. Deleting
  the newest records leaves the head pointing past them, so that is detected too.

Several processes append to one chain at once (Rasa workers, the action server).
The chain cannot fork: every append first updates the chain's head row, which locks it
until the transaction commits (a row lock on PostgreSQL, the database write lock on
SQLite), then reads the head, inserts the records and moves the head. Unique
constraints on ``(chain, seq)`` and ``(chain, prev_hash)`` make a fork impossible even
if that ever failed; a conflicting append is retried a bounded number of times.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from frontline.audit.chain import (
    ERASURE_KIND,
    GENESIS_HASH,
    TOMBSTONE_KEY,
    canonical_json,
    envelope,
    erased_digest,
    legacy_envelope,
    record_hash,
)
from frontline.db import Base, get_engine, session_scope
from frontline.errors import AuditError
from frontline.masking import mask_mapping
from frontline.policy.data_handling import DataHandlingPolicy
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

MAX_CHAIN_LENGTH = 64
MAX_KIND_LENGTH = 32
APPEND_ATTEMPTS = 5


class AuditRecordRow(Base):
    """One audit record."""

    __tablename__ = "audit_records"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    chain = sa.Column(sa.String(MAX_CHAIN_LENGTH), nullable=False)
    seq = sa.Column(sa.BigInteger, nullable=False)
    prev_hash = sa.Column(sa.String(64), nullable=False)
    record_hash = sa.Column(sa.String(64), nullable=False)
    recorded_at = sa.Column(sa.String(32), nullable=False)
    kind = sa.Column(sa.String(MAX_KIND_LENGTH), nullable=False)
    conversation_id = sa.Column(sa.String(255), nullable=True)
    payload = sa.Column(sa.Text, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("chain", "seq", name="uq_audit_records_chain_seq"),
        sa.UniqueConstraint("chain", "prev_hash", name="uq_audit_records_chain_prev"),
        sa.Index("ix_audit_records_conversation", "chain", "conversation_id"),
    )


class AuditChainHead(Base):
    """The newest record of one chain."""

    __tablename__ = "audit_chain_heads"

    chain = sa.Column(sa.String(MAX_CHAIN_LENGTH), primary_key=True)
    seq = sa.Column(sa.BigInteger, nullable=False)
    head_hash = sa.Column(sa.String(64), nullable=False)
    updated_at = sa.Column(sa.String(32), nullable=False)


@dataclass(frozen=True)
class NewRecord:
    """A record to append: what happened, in which conversation, with what payload."""

    kind: str
    payload: Mapping[str, Any]
    conversation_id: str | None = None


@dataclass(frozen=True)
class StoredRecord:
    """A record as stored."""

    id: int
    chain: str
    seq: int
    prev_hash: str
    record_hash: str
    recorded_at: str
    kind: str
    conversation_id: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class BadRecord:
    """The first record at which the chain does not hold."""

    seq: int | None
    record_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"record seq {self.seq} (row id {self.record_id})" if self.seq else "chain head"
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class Verification:
    """The result of checking one chain.

    Attributes:
        chain: The chain checked.
        records: Records read before the first problem (all of them if none).
        head_seq: The head's sequence number (0 for an empty chain).
        head_hash: The head's hash.
        first_bad: The first record that breaks the chain, or None when it holds.
    """

    chain: str
    records: int
    head_seq: int
    head_hash: str
    first_bad: BadRecord | None

    @property
    def ok(self) -> bool:
        return self.first_bad is None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class AuditStore:
    """Appends to and verifies one audit chain in one SQL database.

    Args:
        url: SQLAlchemy URL (``sqlite:///var/frontline.db``, ``postgresql://...``).
        chain: The chain's name.
        data_handling: The data-handling policy masking payloads (default: the process's).
    """

    def __init__(
        self, url: str, chain: str = "main", *, data_handling: DataHandlingPolicy | None = None
    ) -> None:
        if not chain or len(chain) > MAX_CHAIN_LENGTH:
            raise ValueError(f"an audit chain name has 1 to {MAX_CHAIN_LENGTH} characters")
        self.url = url
        self.chain = chain
        self._data_handling = data_handling

    def __repr__(self) -> str:
        return f"AuditStore({sa.engine.make_url(self.url).render_as_string()!r}, {self.chain!r})"

    # -- appending -------------------------------------------------------------------

    def append(self, records: Sequence[NewRecord]) -> list[int]:
        """Appends records to the chain, in order, in one transaction.

        Payloads are masked per the data-handling policy's ``audit`` place first.

        Returns:
            The sequence numbers given to the records.

        Raises:
            AuditError: the database could not be reached, or the append kept
                conflicting with other appenders.
            ValueError: a payload is not JSON-serialisable.
        """
        if not records:
            return []
        prepared = [self._prepare(record) for record in records]
        for attempt in range(1, APPEND_ATTEMPTS + 1):
            try:
                return self._append_once(prepared)
            except (IntegrityError, OperationalError) as exc:
                # Another appender won a race (head row created twice, or a lock timed
                # out): nothing of ours was written; start over from the new head.
                if attempt == APPEND_ATTEMPTS:
                    raise AuditError(
                        f"could not append to audit chain {self.chain!r}: {exc}"
                    ) from exc
                logger.info(
                    "Audit append conflict on %s (attempt %d): %s", self.chain, attempt, exc
                )
                time.sleep(0.05 * attempt)  # back off before retrying the transaction
            except SQLAlchemyError as exc:
                raise AuditError(f"could not append to audit chain {self.chain!r}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _prepare(self, record: NewRecord) -> tuple[str, str | None, str, dict[str, Any]]:
        kind = str(record.kind)
        if not kind or len(kind) > MAX_KIND_LENGTH:
            raise ValueError(f"an audit record kind has 1 to {MAX_KIND_LENGTH} characters")
        if TOMBSTONE_KEY in record.payload:
            raise ValueError(f"{TOMBSTONE_KEY!r} is reserved for erased payloads")
        payload = mask_mapping("audit", dict(record.payload), self._data_handling)
        text = canonical_json(payload)
        conversation_id = record.conversation_id[:255] if record.conversation_id else None
        # The stored text is what is hashed (parsed back), so both always agree.
        return kind, conversation_id, text, json.loads(text)

    def _append_once(
        self, prepared: list[tuple[str, str | None, str, dict[str, Any]]]
    ) -> list[int]:
        now = _now()
        heads = AuditChainHead.__table__
        with session_scope(self.url) as session:
            # Lock the head first (row lock / SQLite write lock) so no one else moves it.
            locked = session.execute(
                heads.update().where(heads.c.chain == self.chain).values(updated_at=now)
            ).rowcount
            if not locked:
                session.execute(
                    heads.insert().values(
                        chain=self.chain, seq=0, head_hash=GENESIS_HASH, updated_at=now
                    )
                )
            seq, prev = session.execute(
                sa.select(heads.c.seq, heads.c.head_hash).where(heads.c.chain == self.chain)
            ).one()
            rows = []
            for kind, conversation_id, text, payload in prepared:
                seq += 1
                row = {"chain": self.chain, "seq": seq, "prev_hash": prev, "recorded_at": now}
                row.update(kind=kind, conversation_id=conversation_id)
                row["record_hash"] = prev = record_hash(envelope(**row, payload=payload))
                rows.append({**row, "payload": text})
            # One statement for the batch (an executemany), not one built per record.
            session.execute(AuditRecordRow.__table__.insert(), rows)
            session.execute(
                heads.update()
                .where(heads.c.chain == self.chain)
                .values(seq=seq, head_hash=prev, updated_at=now)
            )
        return [row["seq"] for row in rows]

    async def append_async(self, records: Sequence[NewRecord]) -> list[int]:
        """:meth:`append` on a worker thread, for code running in an event loop."""
        import asyncio

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.append, list(records))

    # -- reading ---------------------------------------------------------------------

    def records(
        self, conversation_id: str | None = None, *, kind: str | None = None
    ) -> list[StoredRecord]:
        """The chain's records in order, optionally of one conversation or kind."""
        return list(self.iter_records(conversation_id, kind=kind))

    def iter_records(
        self, conversation_id: str | None = None, *, kind: str | None = None, batch: int = 500
    ) -> Iterator[StoredRecord]:
        """Streams the chain's records in ``seq`` order."""
        table = AuditRecordRow.__table__
        query = sa.select(table).where(table.c.chain == self.chain)
        if conversation_id is not None:
            query = query.where(table.c.conversation_id == conversation_id)
        if kind is not None:
            query = query.where(table.c.kind == kind)
        last = 0
        try:
            engine = get_engine(self.url)
            while True:
                with engine.connect() as connection:
                    rows = connection.execute(
                        query.where(table.c.seq > last).order_by(table.c.seq).limit(batch)
                    ).all()
                for row in rows:
                    yield _stored(row)
                if len(rows) < batch:
                    return
                last = rows[-1].seq
        except SQLAlchemyError as exc:
            raise AuditError(f"could not read audit chain {self.chain!r}: {exc}") from exc

    def head(self) -> tuple[int, str]:
        """The chain head's ``(seq, hash)``; ``(0, GENESIS_HASH)`` for a new chain."""
        heads = AuditChainHead.__table__
        try:
            with get_engine(self.url).connect() as connection:
                row = connection.execute(
                    sa.select(heads.c.seq, heads.c.head_hash).where(heads.c.chain == self.chain)
                ).first()
        except SQLAlchemyError as exc:
            raise AuditError(f"could not read audit chain {self.chain!r}: {exc}") from exc
        return (int(row.seq), str(row.head_hash)) if row else (0, GENESIS_HASH)

    # -- verifying -------------------------------------------------------------------

    def verify(self) -> Verification:
        """Checks every record and the head; names the first record that breaks the chain.

        A record breaks the chain when its ``seq`` is not the next number (a record
        before it was deleted, or records were reordered), when its ``prev_hash`` is
        not the previous record's hash, or when its hash does not match its content
        (it was edited). The head must point at the last record (newest records deleted).
        """
        table = AuditRecordRow.__table__
        head_seq, head_hash = self.head()
        expected_seq, expected_prev = 1, GENESIS_HASH
        checked = 0
        erased: dict[int, int] = {}  # seq -> row id of tombstones
        listed: list[tuple[int, int]] = []  # ranges of seqs erasure records name
        try:
            engine = get_engine(self.url)
            with engine.connect() as connection:
                result = connection.execution_options(stream_results=True).execute(
                    sa.select(table)
                    .where(table.c.chain == self.chain)
                    .order_by(table.c.seq, table.c.id)
                )
                for row in result:
                    problem, tombstoned = _check_row(row, self.chain, expected_seq, expected_prev)
                    if problem:
                        return Verification(
                            self.chain, checked, head_seq, head_hash,
                            BadRecord(int(row.seq), int(row.id), problem),
                        )  # fmt: skip
                    if tombstoned:
                        erased[int(row.seq)] = int(row.id)
                    elif row.kind == ERASURE_KIND:
                        listed.extend(erased_ranges(json.loads(row.payload)))
                    checked += 1
                    expected_seq, expected_prev = int(row.seq) + 1, str(row.record_hash)
        except SQLAlchemyError as exc:
            raise AuditError(f"could not read audit chain {self.chain!r}: {exc}") from exc
        unlisted = sorted(
            seq for seq in erased if not any(first <= seq <= last for first, last in listed)
        )
        if unlisted:
            problem = "the payload was erased, but no erasure record names it"
            return Verification(
                self.chain, checked, head_seq, head_hash,
                BadRecord(unlisted[0], erased[unlisted[0]], problem),
            )  # fmt: skip
        last_seq = expected_seq - 1
        if head_seq != last_seq or head_hash != expected_prev:
            if head_seq > last_seq:
                problem = (
                    f"the head says the chain ends at seq {head_seq}, but the last record is "
                    f"seq {last_seq}: the newest records were deleted"
                )
            else:
                problem = (
                    f"the head (seq {head_seq}) does not match the last record (seq {last_seq})"
                )
            return Verification(
                self.chain, checked, head_seq, head_hash, BadRecord(None, None, problem)
            )
        return Verification(self.chain, checked, head_seq, head_hash, None)

    def chains(self) -> list[str]:
        """Every chain with a head in this database."""
        heads = AuditChainHead.__table__
        try:
            with get_engine(self.url).connect() as connection:
                return [row.chain for row in connection.execute(sa.select(heads.c.chain))]
        except SQLAlchemyError as exc:
            raise AuditError(f"could not list audit chains: {exc}") from exc


def erased_ranges(payload: Any) -> list[tuple[int, int]]:
    """The ``[first, last]`` seq ranges an erasure record's payload names."""
    ranges = payload.get("erased_seqs", []) if isinstance(payload, dict) else []
    return [
        (int(item[0]), int(item[1]))
        for item in ranges
        if isinstance(item, list) and len(item) == 2 and all(isinstance(n, int) for n in item)
    ]


def _check_row(
    row: Any, chain: str, expected_seq: int, expected_prev: str
) -> tuple[str | None, bool]:
    """The row's problem (None when it holds), and whether its payload was erased."""
    if int(row.seq) != expected_seq:
        return (
            f"seq {row.seq} where {expected_seq} was expected: "
            "a record before it was deleted, or records were reordered"
        ), False
    if row.prev_hash != expected_prev:
        return "prev_hash is not the previous record's hash: records were removed or reordered", (
            False
        )
    try:
        payload = json.loads(row.payload)
    except ValueError:
        return "the payload is not valid JSON: the record was edited", False
    fields = {name: getattr(row, name) for name in ("prev_hash", "recorded_at", "kind")}
    fields.update(chain=chain, seq=int(row.seq), conversation_id=row.conversation_id)
    digest = erased_digest(payload)
    if digest is not None:
        if record_hash(envelope(**fields, digest=digest)) == row.record_hash:
            return None, True
        if payload[TOMBSTONE_KEY].get("legacy") is True:
            # A version-1 record hashed its payload itself: once erased, only its place
            # in the chain (prev_hash, seq) and the erasure record vouch for it.
            return None, True
        return "the tombstone does not match the record's hash: the record was edited", True
    if record_hash(envelope(**fields, payload=payload)) == row.record_hash:
        return None, False
    if record_hash(legacy_envelope(payload, **fields)) == row.record_hash:
        return None, False
    return "the content does not match its hash: the record was edited", False


def _stored(row: Any) -> StoredRecord:
    try:
        payload = json.loads(row.payload)
    except ValueError:
        payload = {"unreadable": True}
    texts = ("chain", "prev_hash", "record_hash", "recorded_at", "kind", "conversation_id")
    return StoredRecord(
        id=int(row.id),
        seq=int(row.seq),
        payload=payload,
        **{name: getattr(row, name) for name in texts},
    )


@lru_cache(maxsize=1)
def audit_store() -> AuditStore:
    """The process's audit chain (``FRONTLINE_DATABASE_URL``, ``FRONTLINE_AUDIT_CHAIN``).

    Nothing connects until the first record is appended.
    """
    settings = get_settings()
    return AuditStore(settings.database_url, settings.audit_chain)

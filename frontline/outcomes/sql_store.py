"""Outcome records and SLO evaluations in SQL, through the engine of :mod:`frontline.db`."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from frontline.db import create_tables, get_engine
from frontline.outcomes.model import IN_PROGRESS, OutcomeRecord
from frontline.outcomes.state import ContactState
from frontline.outcomes.store import (
    ContactNotFound,
    OutcomeStore,
    OutcomeStoreError,
    SloEvaluation,
)
from frontline.outcomes.tables import (
    FOLDED_COLUMNS,
    TABLES,
    contact_outcomes,
    slo_breaches,
    slo_status,
)

logger = logging.getLogger(__name__)

_ready_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_ready_lock = threading.Lock()
_RECORD_FIELDS = (
    "contact_id",
    "conversation_id",
    "started_at",
    "channel",
    "customer_key",
    "customer_verified",
    "tier",
    "interaction_type",
    "outcome",
    "escalation_reason",
    "could_have_handled",
)
_HIDDEN_COLUMNS = {"fold_state"}
_VERDICT_COLUMNS = (
    "could_have_handled",
    "could_have_handled_by",
    "could_have_handled_at",
    "could_have_handled_note",
)
MAX_NOTE_LENGTH = 500
MAX_AGENT_ID_LENGTH = 255
#: Most conversations read in one ``IN (...)`` query.
_CHUNK = 500
#: The writer's two statements, built once: parameters only change.
_INSERT = contact_outcomes.insert()
_UPDATE = (
    contact_outcomes.update()
    .where(contact_outcomes.c.contact_id == sa.bindparam("b_contact_id"))
    .where(contact_outcomes.c.version == sa.bindparam("b_version"))
    .values(
        {
            column: sa.bindparam(f"v_{column}")
            for column in (*FOLDED_COLUMNS, "version", "updated_at")
            if column != "contact_id"
        }
    )
)


def _record(row: Mapping[str, Any]) -> OutcomeRecord:
    values = {
        key: value
        for key, value in row.items()
        if key not in _RECORD_FIELDS and key not in _HIDDEN_COLUMNS
    }
    return OutcomeRecord(**{key: row[key] for key in _RECORD_FIELDS}, values=values)


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SqlOutcomeStore(OutcomeStore):
    """The ``contact_outcomes``, ``slo_status`` and ``slo_breaches`` tables.

    Nothing connects until the first operation.
    """

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def __repr__(self) -> str:
        url = sa.engine.make_url(self.database_url).render_as_string(hide_password=True)
        return f"SqlOutcomeStore({url!r})"

    @property
    def engine(self) -> Engine:
        """The process's engine for the database, with the tables created."""
        engine = get_engine(self.database_url)
        with _ready_lock:
            if engine not in _ready_engines:
                create_tables(engine, TABLES)
                _ready_engines.add(engine)
        return engine

    def _begin(self) -> Any:
        """A transaction (for writes)."""
        try:
            return self.engine.begin()
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError(f"cannot reach the outcome store: {exc}") from exc

    def _read(self) -> Any:
        """A connection for reads (rolled back on close: no commit to pay for)."""
        try:
            return self.engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError(f"cannot reach the outcome store: {exc}") from exc

    # -- the writer ------------------------------------------------------------------

    def latest_states(self, conversation_ids: Iterable[str]) -> dict[str, ContactState]:
        ids = sorted(set(conversation_ids))
        states: dict[str, ContactState] = {}
        table = contact_outcomes
        inner = table.alias("inner_outcomes")
        latest = (
            sa.select(sa.func.max(inner.c.started_at))
            .where(inner.c.conversation_id == table.c.conversation_id)
            .scalar_subquery()
        )
        try:
            with self._read() as connection:
                for chunk in _chunks(ids):
                    rows = connection.execute(
                        sa.select(table.c.conversation_id, table.c.fold_state, table.c.version)
                        .where(table.c.conversation_id.in_(chunk))
                        .where(table.c.started_at == latest)
                    )
                    for conversation_id, fold_state, version in rows:
                        states[conversation_id] = ContactState.from_json(fold_state, version)
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError("could not read outcome states") from exc
        return states

    def save(
        self,
        rows: Sequence[tuple[ContactState, Mapping[str, Any]]],
        now: float,
        repeats: Mapping[str, str] | None = None,
    ) -> set[str]:
        conflicts: set[str] = set()
        try:
            with self._begin() as connection:
                for state, row in rows:
                    values = {column: row[column] for column in FOLDED_COLUMNS}
                    values |= {"version": state.version + 1, "updated_at": now}
                    if state.version == 0:
                        saved = self._insert(connection, values)
                    else:
                        parameters = {f"v_{k}": v for k, v in values.items()}
                        parameters |= {"b_contact_id": state.contact_id, "b_version": state.version}
                        saved = bool(connection.execute(_UPDATE, parameters).rowcount)
                    if saved:
                        state.version += 1
                    else:
                        conflicts.add(state.contact_id)
                for contact_id, previous_id in (repeats or {}).items():
                    if contact_id not in conflicts:
                        self._mark_repeat(connection, contact_id, previous_id)
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError(f"could not save {len(rows)} outcome records") from exc
        return conflicts

    @staticmethod
    def _insert(connection: Connection, values: Mapping[str, Any]) -> bool:
        """Inserts a new contact; False if another writer inserted it first.

        A plain insert in a savepoint (its statement compiled once per process), rather
        than the dialects' ``ON CONFLICT`` inserts, which SQLAlchemy 1.4 compiles anew
        every time: a fifth of the writer's CPU.
        """
        try:
            with connection.begin_nested():
                connection.execute(_INSERT, values)
        except sa.exc.IntegrityError:
            return False
        return True

    def previous_contact(
        self, customer_key: str, interaction_type: str, before: float, since: float, exclude: str
    ) -> str | None:
        table = contact_outcomes
        query = (
            sa.select(table.c.contact_id)
            .where(table.c.customer_key == customer_key)
            .where(table.c.interaction_type == interaction_type)
            .where(table.c.started_at >= since)
            .where(table.c.started_at < before)
            .where(table.c.contact_id != exclude)
            .order_by(table.c.started_at.desc())
            .limit(1)
        )
        try:
            with self._read() as connection:
                return connection.execute(query).scalar()
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError("could not look for a previous contact") from exc

    def mark_repeat(self, contact_id: str, previous_id: str) -> None:
        try:
            with self._begin() as connection:
                self._mark_repeat(connection, contact_id, previous_id)
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError("could not mark a repeat contact") from exc

    @staticmethod
    def _mark_repeat(connection: Connection, contact_id: str, previous_id: str) -> None:
        table = contact_outcomes
        connection.execute(
            table.update()
            .where(table.c.contact_id == contact_id)
            .values(is_repeat=True, repeat_of=previous_id)
        )
        connection.execute(
            table.update().where(table.c.contact_id == previous_id).values(followed_by_repeat=True)
        )

    def close_idle(self, now: float, abandon_after_seconds: float) -> int:
        table = contact_outcomes
        quiet_since = sa.func.coalesce(table.c.last_customer_at, table.c.last_event_at)
        try:
            with self._begin() as connection:
                result = connection.execute(
                    table.update()
                    .where(table.c.outcome == IN_PROGRESS)
                    .where(quiet_since <= now - abandon_after_seconds)
                    .values(
                        outcome=sa.case((table.c.engaged, "abandoned"), else_="unengaged"),
                        updated_at=now,
                    )
                )
                return int(result.rowcount or 0)
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError("could not close idle contacts") from exc

    def open_escalations(self, since: float, limit: int) -> list[ContactState]:
        table = contact_outcomes
        query = (
            sa.select(table.c.fold_state, table.c.version)
            .where(table.c.escalated_at >= since)
            .where(
                sa.or_(
                    table.c.resolution_code.is_(None),
                    table.c.queue_wait_seconds.is_(None),
                    table.c.human_handle_seconds.is_(None),
                )
            )
            .where(table.c.escalated_at.is_not(None))
            .order_by(table.c.escalated_at.desc())
            .limit(limit)
        )
        try:
            with self._read() as connection:
                return [
                    ContactState.from_json(text, version)
                    for text, version in connection.execute(query)
                ]
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError("could not read open escalations") from exc

    def forget_conversations(self, conversation_ids: Iterable[str]) -> dict[str, dict]:
        ids = sorted(set(conversation_ids))
        table = contact_outcomes
        columns = [table.c[name] for name in _VERDICT_COLUMNS]
        verdicts: dict[str, dict] = {}
        try:
            with self._begin() as connection:
                for chunk in _chunks(ids):
                    mine = table.c.conversation_id.in_(chunk)
                    rows = connection.execute(
                        sa.select(table.c.contact_id, *columns)
                        .where(mine)
                        .where(table.c.could_have_handled.is_not(None))
                    ).mappings()
                    verdicts |= {
                        row["contact_id"]: {k: row[k] for k in _VERDICT_COLUMNS} for row in rows
                    }
                    connection.execute(table.delete().where(mine))
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError("could not delete outcome records") from exc
        return verdicts

    def restore_verdicts(self, verdicts: Mapping[str, Mapping[str, Any]]) -> None:
        table = contact_outcomes
        try:
            with self._begin() as connection:
                for contact_id, values in verdicts.items():
                    connection.execute(
                        table.update().where(table.c.contact_id == contact_id).values(**values)
                    )
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError("could not restore verdicts") from exc

    # -- people and views ------------------------------------------------------------

    def _select(self) -> sa.sql.Select:
        return sa.select(*[c for c in contact_outcomes.columns if c.name not in _HIDDEN_COLUMNS])

    def get(self, contact_id: str) -> OutcomeRecord | None:
        try:
            with self._read() as connection:
                row = (
                    connection.execute(
                        self._select().where(contact_outcomes.c.contact_id == contact_id)
                    )
                    .mappings()
                    .first()
                )
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError(f"could not read contact {contact_id}") from exc
        return _record(row) if row is not None else None

    def for_conversation(self, conversation_id: str) -> list[OutcomeRecord]:
        query = (
            self._select()
            .where(contact_outcomes.c.conversation_id == conversation_id)
            .order_by(contact_outcomes.c.started_at)
        )
        try:
            with self._read() as connection:
                return [_record(row) for row in connection.execute(query).mappings()]
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError(f"could not read the contacts of {conversation_id}") from exc

    def search(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        where: Mapping[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[OutcomeRecord]:
        table = contact_outcomes
        query = self._select()
        if since is not None:
            query = query.where(table.c.started_at >= since)
        if until is not None:
            query = query.where(table.c.started_at < until)
        for column, value in (where or {}).items():
            if column not in table.c or column in _HIDDEN_COLUMNS:
                raise ValueError(f"unknown column {column!r}")
            if isinstance(value, (list, tuple, set, frozenset)):
                query = query.where(table.c[column].in_(list(value)))
            elif value is None:
                query = query.where(table.c[column].is_(None))
            else:
                query = query.where(table.c[column] == value)
        query = query.order_by(table.c.started_at.desc()).limit(max(1, min(limit, 1000)))
        try:
            with self._read() as connection:
                rows = connection.execute(query.offset(max(offset, 0))).mappings()
                return [_record(row) for row in rows]
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError("could not search the outcome records") from exc

    def mark_could_have_handled(
        self, contact_id: str, agent_id: str, could_have: bool, note: str | None, now: float
    ) -> OutcomeRecord:
        if not isinstance(agent_id, str) or not agent_id.strip():
            raise ValueError("agent_id must be a non-empty string")
        if len(agent_id) > MAX_AGENT_ID_LENGTH:
            raise ValueError(f"agent_id is longer than {MAX_AGENT_ID_LENGTH} characters")
        if note is not None and len(note) > MAX_NOTE_LENGTH:
            raise ValueError(f"the note is longer than {MAX_NOTE_LENGTH} characters")
        table = contact_outcomes
        try:
            with self._begin() as connection:
                updated = connection.execute(
                    table.update()
                    .where(table.c.contact_id == contact_id)
                    .values(
                        could_have_handled=bool(could_have),
                        could_have_handled_by=agent_id,
                        could_have_handled_at=now,
                        could_have_handled_note=note or None,
                    )
                ).rowcount
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError(f"could not annotate contact {contact_id}") from exc
        record = self.get(contact_id) if updated else None
        if record is None:
            raise ContactNotFound(f"no outcome record {contact_id!r}")
        return record

    # -- SLOs ------------------------------------------------------------------------

    def record_slo_evaluations(self, evaluations: Sequence[SloEvaluation]) -> list[SloEvaluation]:
        opened: list[SloEvaluation] = []
        try:
            with self._begin() as connection:
                for evaluation in evaluations:
                    self._upsert_status(connection, evaluation)
                    if self._track_breach(connection, evaluation):
                        opened.append(evaluation)
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError("could not record SLO evaluations") from exc
        return opened

    @staticmethod
    def _upsert_status(connection: Connection, evaluation: SloEvaluation) -> None:
        values = evaluation.as_dict()
        key = (slo_status.c.objective_id == evaluation.objective_id) & (
            slo_status.c.segment == evaluation.segment
        )
        if not connection.execute(slo_status.update().where(key).values(values)).rowcount:
            dialect = connection.dialect.name
            if dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            connection.execute(insert(slo_status).values(values).on_conflict_do_nothing())

    @staticmethod
    def _track_breach(connection: Connection, evaluation: SloEvaluation) -> bool:
        """Opens, refreshes or closes the breach of this objective and segment; True if
        this call opened it."""
        open_key = f"{evaluation.objective_id}|{evaluation.segment}"
        numbers = {
            "value": evaluation.value,
            "lower": evaluation.lower,
            "upper": evaluation.upper,
            "sample": evaluation.sample,
            "last_seen_at": evaluation.evaluated_at,
        }
        current = slo_breaches.c.open_key == open_key
        if evaluation.state != "breached":
            if evaluation.state != "no_data":
                connection.execute(
                    slo_breaches.update()
                    .where(current)
                    .values(closed_at=evaluation.evaluated_at, open_key=None)
                )
            return False
        if connection.execute(slo_breaches.update().where(current).values(numbers)).rowcount:
            return False
        dialect = connection.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = (
            insert(slo_breaches)
            .values(
                objective_id=evaluation.objective_id,
                segment=evaluation.segment,
                metric=evaluation.metric,
                target=evaluation.target,
                opened_at=evaluation.evaluated_at,
                open_key=open_key,
                **numbers,
            )
            .on_conflict_do_nothing()
        )
        return bool(connection.execute(statement).rowcount)

    def slo_status(self) -> list[SloEvaluation]:
        query = sa.select(slo_status).order_by(slo_status.c.objective_id, slo_status.c.segment)
        try:
            with self._read() as connection:
                return [SloEvaluation(**row) for row in connection.execute(query).mappings()]
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError("could not read the SLO status") from exc

    def slo_breaches(self, since: float | None = None, open_only: bool = False) -> list[dict]:
        query = sa.select(slo_breaches).order_by(slo_breaches.c.opened_at.desc())
        if since is not None:
            query = query.where(
                sa.or_(slo_breaches.c.opened_at >= since, slo_breaches.c.closed_at.is_(None))
            )
        if open_only:
            query = query.where(slo_breaches.c.closed_at.is_(None))
        try:
            with self._read() as connection:
                return [dict(row) for row in connection.execute(query).mappings()]
        except sa.exc.SQLAlchemyError as exc:
            raise OutcomeStoreError("could not read SLO breaches") from exc

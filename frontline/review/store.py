"""Labels, verdicts and flags in SQL (SQLite by default, PostgreSQL by URL).

Each write is idempotent: saving what is stored already changes nothing and says so
(``False``), so a retried request is harmless and is not audited twice. Build one with
:func:`create` (``{"type": "sql", "url": ...}``); nothing connects until first use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from frontline.db import ensure_tables, get_engine
from frontline.errors import ConfigurationError, FrontlineError
from frontline.review.tables import TABLES, review_flags, review_labels, review_verdicts

logger = logging.getLogger(__name__)

STORE_TYPES = ("sql",)
_CHUNK = 500


class ReviewStoreError(FrontlineError):
    """The review tables cannot be read or written."""


@dataclass(frozen=True)
class Label:
    """A reviewer's label of one customer message."""

    item_key: str
    conversation_id: str
    message_at: float
    text: str
    predicted_intent: str | None
    confidence: float | None
    decision: str
    intent: str
    model_id: str | None
    reviewer: str
    labelled_at: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    """A reviewer's verdict on a conversation."""

    conversation_id: str
    verdict: str
    reviewer: str
    contact_id: str | None
    note: str | None
    decided_at: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Flag:
    """An agent's flag on one of the assistant's turns."""

    conversation_id: str
    turn_at: float
    agent: str
    entry_id: str | None
    contact_id: str | None
    bot_text: str
    reason: str
    note: str | None
    flagged_at: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: What makes two saves the same (times aside): a repeated save changes nothing.
_SAME = {
    "review_labels": ("decision", "intent", "reviewer"),
    "review_verdicts": ("note",),
    "review_flags": ("reason", "note"),
}


class SqlReviewStore:
    """The ``review_labels``, ``review_verdicts`` and ``review_flags`` tables."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def __repr__(self) -> str:
        url = sa.engine.make_url(self.database_url).render_as_string(hide_password=True)
        return f"SqlReviewStore({url!r})"

    @property
    def engine(self) -> Engine:
        engine = get_engine(self.database_url)
        ensure_tables(engine, TABLES)
        return engine

    # -- writes ------------------------------------------------------------------------

    def _save(self, table: sa.Table, values: Mapping[str, Any], update: bool) -> bool:
        """Inserts a row, or updates it when ``update`` and it differs; whether it changed."""
        keys = [column.name for column in table.primary_key.columns]
        where = sa.and_(*[table.c[key] == values[key] for key in keys])
        same = _SAME[table.name]
        for attempt in (1, 2):
            try:
                with self.engine.begin() as connection:
                    row = connection.execute(sa.select(table).where(where)).mappings().first()
                    if row is None:
                        connection.execute(table.insert().values(**values))
                        return True
                    if not update or all(row[name] == values[name] for name in same):
                        return False
                    connection.execute(table.update().where(where).values(**values))
                    return True
            except sa.exc.IntegrityError:
                if attempt == 2:
                    raise ReviewStoreError(f"conflicting saves in {table.name}") from None
                logger.info("Concurrent save in %s; reading it again", table.name)
            except sa.exc.SQLAlchemyError as exc:
                raise ReviewStoreError(f"could not write {table.name}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def save_label(self, label: Label) -> bool:
        """Stores a label (replacing another decision on the same message)."""
        return self._save(review_labels, label.as_dict(), update=True)

    def save_verdict(self, verdict: Verdict) -> bool:
        """Stores a verdict (a new note replaces the reviewer's earlier one)."""
        return self._save(review_verdicts, verdict.as_dict(), update=True)

    def save_flag(self, flag: Flag) -> bool:
        """Stores a flag (a new reason or note replaces the agent's earlier one)."""
        return self._save(review_flags, flag.as_dict(), update=True)

    # -- reads -------------------------------------------------------------------------

    def _rows(self, query: sa.sql.Select) -> list[Mapping[str, Any]]:
        try:
            with self.engine.connect() as connection:
                return list(connection.execute(query).mappings())
        except sa.exc.SQLAlchemyError as exc:
            raise ReviewStoreError(f"could not read the review tables: {exc}") from exc

    def labels(self, item_keys: Iterable[str] | None = None) -> dict[str, Label]:
        """Labels by message key (all of them, or those of ``item_keys``)."""
        query = sa.select(review_labels).order_by(review_labels.c.labelled_at)
        if item_keys is None:
            return {row["item_key"]: Label(**row) for row in self._rows(query)}
        keys = sorted(set(item_keys))
        found: dict[str, Label] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            for row in self._rows(query.where(review_labels.c.item_key.in_(chunk))):
                found[row["item_key"]] = Label(**row)
        return found

    def verdicts(self, conversation_id: str | None = None) -> list[Verdict]:
        """Verdicts, oldest first (of one conversation, or all)."""
        query = sa.select(review_verdicts).order_by(review_verdicts.c.decided_at)
        if conversation_id is not None:
            query = query.where(review_verdicts.c.conversation_id == conversation_id)
        return [Verdict(**row) for row in self._rows(query)]

    def flags(self, since: float | None = None, conversation_id: str | None = None) -> list[Flag]:
        """Flags, oldest first (since a time, of one conversation)."""
        query = sa.select(review_flags).order_by(review_flags.c.flagged_at)
        if since is not None:
            query = query.where(review_flags.c.flagged_at >= since)
        if conversation_id is not None:
            query = query.where(review_flags.c.conversation_id == conversation_id)
        return [Flag(**row) for row in self._rows(query)]


def create(config: Mapping[str, Any]) -> SqlReviewStore:
    """A review store from ``{"type": "sql", "url": ...}``.

    Raises:
        ConfigurationError: Unknown type or no URL.
    """
    if config.get("type") not in STORE_TYPES:
        raise ConfigurationError(
            f"unknown review store type {config.get('type')!r}; expected {', '.join(STORE_TYPES)}"
        )
    url = config.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigurationError("the sql review store needs a 'url'")
    return SqlReviewStore(url)

"""Erasure and retention in each store, one small function per store and operation.

Every function takes the store's location and returns how many records it deleted or
redacted. A store that does not exist yet (no table, no log folder) holds nothing.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Collection
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from frontline.db import get_engine, session_scope
from frontline.errors import FrontlineError
from frontline.feedback.sql_store import CsatFeedbackRow
from frontline.outcomes.tables import contact_outcomes

logger = logging.getLogger(__name__)

#: Rasa's SQL tracker store keeps every event in this table.
TRACKER_TABLE = "events"
#: What replaces a log line that names an erased person.
ERASED_LINE = "[line erased: personal data of an erased person]\n"


class PrivacyError(FrontlineError):
    """A store could not be erased or cleaned up."""


def _table(url: str, name: str) -> sa.Table | None:
    try:
        return sa.Table(name, sa.MetaData(), autoload_with=get_engine(url))
    except NoSuchTableError:
        return None


def _delete(url: str, table: sa.Table | None, where: sa.sql.ColumnElement, store: str) -> int:
    if table is None:
        return 0
    try:
        with session_scope(url) as session:
            return int(session.execute(sa.delete(table).where(where)).rowcount or 0)
    except SQLAlchemyError as exc:
        raise PrivacyError(f"could not delete from the {store}: {type(exc).__name__}") from exc


def _exists(url: str, name: str) -> bool:
    try:
        return sa.inspect(get_engine(url)).has_table(name)
    except SQLAlchemyError as exc:
        raise PrivacyError(f"could not read the {name} table: {type(exc).__name__}") from exc


# -- the tracker store (Rasa's events table) ----------------------------------------


def erase_tracker(url: str, conversation_ids: Collection[str]) -> int:
    """Deletes every event of the conversations."""
    if not conversation_ids:
        return 0
    table = _table(url, TRACKER_TABLE)
    if table is None:
        return 0
    return _delete(url, table, table.c.sender_id.in_(list(conversation_ids)), "tracker store")


def retain_tracker(url: str, before: datetime) -> int:
    """Deletes the conversations whose newest event is older than ``before``."""
    table = _table(url, TRACKER_TABLE)
    if table is None:
        return 0
    quiet = (
        sa.select(table.c.sender_id)
        .group_by(table.c.sender_id)
        .having(sa.func.max(table.c.timestamp) < before.timestamp())
    )
    return _delete(url, table, table.c.sender_id.in_(quiet), "tracker store")


# -- CSAT --------------------------------------------------------------------------

_csat: sa.Table = CsatFeedbackRow.__table__


def erase_csat(url: str, conversation_ids: Collection[str]) -> int:
    """Deletes the CSAT answers of the conversations."""
    if not conversation_ids or not _exists(url, _csat.name):
        return 0
    return _delete(url, _csat, _csat.c.conversation_id.in_(list(conversation_ids)), "CSAT store")


def retain_csat(url: str, before: datetime) -> int:
    """Deletes CSAT answers given before ``before``."""
    if not _exists(url, _csat.name):
        return 0
    return _delete(url, _csat, _csat.c.created_at < before, "CSAT store")


# -- outcome records ----------------------------------------------------------------


def outcome_conversations(url: str, customer_key: str) -> set[str]:
    """The conversations of the outcome records of one (pseudonymous) customer."""
    if not _exists(url, contact_outcomes.name):
        return set()
    query = sa.select(contact_outcomes.c.conversation_id).where(
        contact_outcomes.c.customer_key == customer_key
    )
    with get_engine(url).connect() as connection:
        return set(connection.execute(query).scalars())


def erase_outcomes(url: str, conversation_ids: Collection[str], customer_key: str | None) -> int:
    """Deletes the outcome records of the conversations (and of the customer)."""
    if not _exists(url, contact_outcomes.name):
        return 0
    conditions = [contact_outcomes.c.conversation_id.in_(list(conversation_ids))]
    if customer_key:
        conditions.append(contact_outcomes.c.customer_key == customer_key)
    return _delete(url, contact_outcomes, sa.or_(*conditions), "outcome records")


def retain_outcomes(url: str, before: datetime) -> int:
    """Deletes outcome records of contacts started before ``before``."""
    if not _exists(url, contact_outcomes.name):
        return 0
    old = contact_outcomes.c.started_at < before.timestamp()
    return _delete(url, contact_outcomes, old, "outcome records")


# -- our log files ------------------------------------------------------------------


def _log_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.rglob("*") if path.is_file() and ".log" in path.name)


def erase_logs(folder: Path, values: Collection[str]) -> int:
    """Replaces every log line naming one of ``values`` (ids of the erased person)."""
    needles = [value for value in values if value]
    if not needles:
        return 0
    erased = 0
    for path in _log_files(folder):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        except OSError as exc:
            raise PrivacyError(f"could not read the log file {path.name}") from exc
        changed = [ERASED_LINE if any(n in line for n in needles) else line for line in lines]
        count = sum(1 for old, new in zip(lines, changed, strict=True) if old is not new)
        if count:
            _rewrite(path, "".join(changed))
            erased += count
    return erased


def _rewrite(path: Path, text: str) -> None:
    """Replaces a file's content atomically, keeping its permissions."""
    mode = path.stat().st_mode & 0o777
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise PrivacyError(f"could not rewrite the log file {path.name}") from exc


def retain_logs(folder: Path, before: datetime) -> int:
    """Deletes log files last written before ``before``."""
    removed = 0
    for path in _log_files(folder):
        if path.stat().st_mtime < before.timestamp():
            path.unlink(missing_ok=True)
            removed += 1
    return removed

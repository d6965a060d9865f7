"""Erasing audit payloads (a person's right to erasure, retention) without breaking the chain.

The chain covers each payload by its digest (:mod:`frontline.audit.chain`), so a payload
can be replaced by a tombstone that keeps the digest. First an ``erasure`` record is
appended naming the records about to be erased (so ``verify`` can tell an erasure that
was recorded from one that was not), then their payloads become tombstones. The kind,
the time, the conversation id and the place in the chain stay.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from frontline.audit.chain import (
    ERASURE_KIND,
    canonical_json,
    erased_digest,
    legacy_envelope,
    record_hash,
    tombstone,
)
from frontline.audit.store import AuditRecordRow, AuditStore, NewRecord, StoredRecord
from frontline.db import session_scope
from frontline.errors import AuditError
from frontline.masking import hash_value

logger = logging.getLogger(__name__)


def mentions(payload: Any, values: Collection[str]) -> bool:
    """Whether any string in ``payload`` (at any depth) is one of ``values``."""
    if isinstance(payload, str):
        return payload in values
    if isinstance(payload, dict):
        return any(mentions(item, values) for item in payload.values())
    if isinstance(payload, list):
        return any(mentions(item, values) for item in payload)
    return False


def erase_records(
    store: AuditStore,
    matches: Callable[[StoredRecord], bool],
    *,
    reason: str,
    subject: str | None = None,
) -> list[int]:
    """Replaces the payload of every record ``matches`` selects by a tombstone.

    Args:
        store: The chain.
        matches: Selects the records to erase (erasure records and tombstones are never
            selected).
        reason: Why (``erasure request``, ``retention``), kept in the tombstones.
        subject: Whose data (a customer or conversation id); only its hash is kept.

    Returns:
        The seqs erased.

    Raises:
        AuditError: The database failed.
    """
    chosen = [
        record
        for record in store.iter_records()
        if record.kind != ERASURE_KIND and erased_digest(record.payload) is None and matches(record)
    ]
    if not chosen:
        return []
    seqs = [record.seq for record in chosen]
    payload: dict[str, Any] = {"erased_seqs": _ranges(seqs), "reason": reason}
    if subject:
        payload["subject"] = hash_value(subject)
    store.append([NewRecord(ERASURE_KIND, payload)])
    now = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    table = AuditRecordRow.__table__
    try:
        with session_scope(store.url) as session:
            for record in chosen:
                grave = tombstone(record.payload, erased_at=now, reason=reason)
                if _is_legacy(store.chain, record):
                    grave["_erased"]["legacy"] = True
                session.execute(
                    sa.update(table)
                    .where(table.c.id == record.id, table.c.chain == store.chain)
                    .values(payload=canonical_json(grave))
                )
    except SQLAlchemyError as exc:
        raise AuditError(f"could not erase audit payloads of {store.chain!r}: {exc}") from exc
    logger.info("Erased %d audit payloads of chain %s (%s)", len(seqs), store.chain, reason)
    return seqs


def _is_legacy(chain: str, record: StoredRecord) -> bool:
    """Whether a version-1 record (its hash covers the payload itself)."""
    fields = {
        "chain": chain,
        "seq": record.seq,
        "prev_hash": record.prev_hash,
        "recorded_at": record.recorded_at,
        "kind": record.kind,
        "conversation_id": record.conversation_id,
    }
    payload = json.loads(canonical_json(record.payload))
    return record_hash(legacy_envelope(payload, **fields)) == record.record_hash


def _ranges(seqs: Iterable[int]) -> list[list[int]]:
    ranges: list[list[int]] = []
    for seq in sorted(seqs):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1][1] = seq
        else:
            ranges.append([seq, seq])
    return ranges

"""The chain covers payload digests: payloads can be erased, earlier records still verify."""

from __future__ import annotations

import sqlalchemy as sa

from frontline.audit.chain import (
    GENESIS_HASH,
    TOMBSTONE_KEY,
    canonical_json,
    legacy_envelope,
    record_hash,
)
from frontline.audit.erasure import erase_records
from frontline.audit.store import AuditChainHead, AuditRecordRow, AuditStore, NewRecord
from frontline.db import ensure_tables, get_engine, session_scope


def _legacy_chain(url: str, chain: str, payloads: list[dict]) -> None:
    """Records as the first version wrote them: the hash covers the payload itself."""
    engine = get_engine(url)
    ensure_tables(engine, [AuditRecordRow.__table__, AuditChainHead.__table__])
    prev = GENESIS_HASH
    rows = []
    for seq, payload in enumerate(payloads, start=1):
        fields = {
            "chain": chain,
            "seq": seq,
            "prev_hash": prev,
            "recorded_at": f"2026-01-0{seq}T00:00:00.000000Z",
            "kind": "write",
            "conversation_id": f"conv-{seq}",
        }
        prev = record_hash(legacy_envelope(payload, **fields))
        rows.append({**fields, "record_hash": prev, "payload": canonical_json(payload)})
    with session_scope(url) as session:
        session.execute(AuditRecordRow.__table__.insert(), rows)
        session.execute(
            AuditChainHead.__table__.insert().values(
                chain=chain, seq=len(rows), head_hash=prev, updated_at="2026-01-09T00:00:00Z"
            )
        )


def test_legacy_records_verify_and_can_be_erased(sql_url: str, unique_name: str) -> None:
    _legacy_chain(sql_url, unique_name, [{"customer_id": "C1001"}, {"customer_id": "C1002"}])
    store = AuditStore(sql_url, unique_name)
    assert store.verify().ok
    store.append([NewRecord("write", {"customer_id": "C1001"}, "conv-3")])
    assert store.verify().ok

    erased = erase_records(
        store, lambda r: r.payload.get("customer_id") == "C1001", reason="erasure request"
    )

    assert erased == [1, 3]
    payloads = [r.payload for r in store.records()]
    assert payloads[1] == {"customer_id": "C1002"}
    assert payloads[0][TOMBSTONE_KEY]["legacy"] is True
    assert "legacy" not in payloads[2][TOMBSTONE_KEY]
    assert store.verify().ok


def test_editing_a_tombstone_breaks_the_chain(sql_url: str, unique_name: str) -> None:
    store = AuditStore(sql_url, unique_name)
    store.append([NewRecord("write", {"customer_id": "C1001"}, "conv-1")])
    erase_records(store, lambda r: True, reason="erasure request")
    record = store.records()[0]
    forged = {TOMBSTONE_KEY: {**record.payload[TOMBSTONE_KEY], "payload_sha256": "0" * 64}}
    table = AuditRecordRow.__table__
    with session_scope(sql_url) as session:
        session.execute(
            sa.update(table).where(table.c.id == record.id).values(payload=canonical_json(forged))
        )

    result = store.verify()

    assert not result.ok and result.first_bad is not None and result.first_bad.seq == 1

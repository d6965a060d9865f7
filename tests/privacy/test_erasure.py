"""``erase --customer`` and ``--conversation`` reach every store; the audit chain verifies."""

from __future__ import annotations

import pytest

from frontline.audit.__main__ import main as audit_cli
from frontline.audit.chain import TOMBSTONE_KEY
from frontline.privacy.erasure import erase_conversation, erase_customer
from tests.privacy.conftest import Filled


def test_erasing_a_customer_reaches_every_store(stores: Filled) -> None:
    c1 = {stores.conversations["c1-first"], stores.conversations["c1-second"]}
    other = stores.conversations["other"]
    assert len(stores.contacts("C1001")) == 2

    report = erase_customer(stores.where, "C1001")

    assert set(report.conversations) == c1
    assert report.problems == []
    assert report.stores == {
        "tracker": 6,
        "handoff_queue": 2,
        "csat": 2,
        "outcomes": 2,
        "audit": 2,
        "logs": 2,
        "contact_history": 2,
    }
    assert stores.tracker_senders() == {other}
    assert stores.outcome_conversations() == {other}
    assert stores.csat_conversations() == {other}
    assert all(stores.queue.find_by_conversation(c) == [] for c in c1)
    assert len(stores.queue.find_by_conversation(other)) == 1
    assert stores.contacts("C1001") == [] and len(stores.contacts("C1002")) == 1
    log = stores.log_file.read_text()
    assert other in log and not any(c in log for c in c1)

    records = {r.conversation_id: r for r in stores.chain.records() if r.conversation_id}
    for conversation in c1:
        payload = records[conversation].payload
        assert list(payload) == [TOMBSTONE_KEY] and "C1001" not in str(payload)
    assert records[other].payload["customer_id"] == "C1002"
    erasure = stores.chain.records(kind="erasure")
    assert len(erasure) == 1 and "C1001" not in str(erasure[0].payload)
    # The chain still verifies, through the command `make audit-verify` runs.
    assert stores.chain.verify().ok
    assert audit_cli(["verify", "--url", stores.url, "--chain", stores.chain.chain]) == 0

    # Erasing again finds nothing more to do.
    again = erase_customer(stores.where, "C1001")
    assert set(again.stores.values()) == {0}


def test_erasing_a_conversation_leaves_the_others(stores: Filled) -> None:
    target = stores.conversations["c1-first"]
    kept = {stores.conversations["c1-second"], stores.conversations["other"]}

    report = erase_conversation(stores.where, target)

    assert report.stores["tracker"] == 3 and report.stores["audit"] == 1
    assert report.stores["contact_history"] == 1
    assert stores.tracker_senders() == kept
    assert stores.csat_conversations() == kept
    assert stores.outcome_conversations() == kept
    assert [c["conversation_id"] for c in stores.contacts("C1001")] == [
        stores.conversations["c1-second"]
    ]
    assert stores.chain.verify().ok


def test_an_erasure_nobody_recorded_breaks_the_chain(stores: Filled) -> None:
    import sqlalchemy as sa

    from frontline.audit.chain import canonical_json, tombstone
    from frontline.audit.store import AuditRecordRow
    from frontline.db import session_scope

    record = stores.chain.records()[0]
    grave = tombstone(record.payload, erased_at="2026-01-01T00:00:00Z", reason="sneaky")
    table = AuditRecordRow.__table__
    with session_scope(stores.url) as session:
        session.execute(
            sa.update(table).where(table.c.id == record.id).values(payload=canonical_json(grave))
        )

    result = stores.chain.verify()

    assert not result.ok and result.first_bad is not None
    assert result.first_bad.seq == record.seq
    assert "no erasure record" in result.first_bad.problem


def test_a_reserved_key_cannot_be_appended(stores: Filled) -> None:
    from frontline.audit.store import NewRecord

    with pytest.raises(ValueError):
        stores.chain.append([NewRecord("write", {TOMBSTONE_KEY: {"payload_sha256": "0"}})])

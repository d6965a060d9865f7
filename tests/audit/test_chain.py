"""The audit chain on SQLite and PostgreSQL: appends, verifies, and catches every tampering."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from frontline.audit import AuditStore, NewRecord
from frontline.audit.__main__ import main as audit_cli
from frontline.audit.chain import GENESIS_HASH
from frontline.db import get_engine

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(sql_url, unique_name) -> AuditStore:
    """A chain of this test's own (the PostgreSQL database is shared)."""
    return AuditStore(sql_url, unique_name)


def fill(store: AuditStore, count: int = 5) -> None:
    for index in range(count):
        store.append(
            [NewRecord("decision", {"action": f"action_{index}", "n": index}, f"conv-{index % 2}")]
        )


def execute(store: AuditStore, statement: str, **params) -> None:
    with get_engine(store.url).begin() as connection:
        connection.execute(sa.text(statement), {"chain": store.chain, **params})


def first_bad(store: AuditStore):
    result = store.verify()
    assert not result.ok
    return result.first_bad


def test_records_chain_to_each_other(store):
    assert store.verify().ok and store.head() == (0, GENESIS_HASH)
    assert store.append([NewRecord("decision", {"a": 1}), NewRecord("write", {"b": 2}, "c1")]) == [
        1,
        2,
    ]
    fill(store, 3)
    records = store.records()
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    assert all(
        later.prev_hash == earlier.record_hash
        for earlier, later in zip(records, records[1:], strict=False)
    )
    result = store.verify()
    assert result.ok and result.records == 5 and result.head_hash == records[-1].record_hash
    assert [r.seq for r in store.records("c1")] == [2]
    assert [r.kind for r in store.records(kind="write")] == ["write"]


def test_personal_data_is_masked_before_hashing(store):
    store.append(
        [
            NewRecord(
                "decision",
                {
                    "text": "I'm jane.doe@example.com, call 415 555 0134",
                    "email": "jane.doe@example.com",
                },
            )
        ]
    )
    [record] = store.records()
    assert record.payload == {
        "text": "I'm j***@example.com, call ***-***-**34",
        "email": "j***@example.com",
    }
    assert store.verify().ok


def test_editing_a_record_is_caught_and_named(store):
    fill(store)
    execute(
        store,
        "UPDATE audit_records SET payload = :p WHERE chain = :chain AND seq = 3",
        p='{"n": 99}',
    )
    bad = first_bad(store)
    assert bad.seq == 3 and "content does not match its hash" in bad.problem


def test_editing_a_records_metadata_is_caught(store):
    fill(store)
    execute(
        store,
        "UPDATE audit_records SET conversation_id = 'someone-else' "
        "WHERE chain = :chain AND seq = 2",
    )
    assert first_bad(store).seq == 2


def test_rehashing_an_edited_record_breaks_the_next_one(store):
    fill(store)
    execute(
        store,
        "UPDATE audit_records SET payload = '{}', record_hash = :h "
        "WHERE chain = :chain AND seq = 2",
        h="f" * 64,
    )
    bad = first_bad(store)
    assert bad.seq == 2  # its own hash no longer matches; were it recomputed, seq 3 would break


def test_deleting_a_record_in_the_middle_is_caught(store):
    fill(store)
    execute(store, "DELETE FROM audit_records WHERE chain = :chain AND seq = 3")
    bad = first_bad(store)
    assert bad.seq == 4 and "a record before it was deleted" in bad.problem


def test_deleting_the_newest_records_is_caught_by_the_head(store):
    fill(store)
    execute(store, "DELETE FROM audit_records WHERE chain = :chain AND seq >= 4")
    bad = first_bad(store)
    assert bad.seq is None and "the newest records were deleted" in bad.problem
    assert "ends at seq 5, but the last record is seq 3" in bad.problem


def test_reordering_records_is_caught(store):
    fill(store)
    # Swap records 2 and 4 (through a free number, the (chain, seq) pair is unique).
    execute(store, "UPDATE audit_records SET seq = -2 WHERE chain = :chain AND seq = 2")
    execute(store, "UPDATE audit_records SET seq = 2 WHERE chain = :chain AND seq = 4")
    execute(store, "UPDATE audit_records SET seq = 4 WHERE chain = :chain AND seq = -2")
    bad = first_bad(store)
    assert bad.seq == 2 and "prev_hash" in bad.problem


def test_appending_after_verification_continues_the_chain(store):
    fill(store, 2)
    assert store.verify().ok
    assert store.append([NewRecord("decision", {"more": True})]) == [3]
    assert store.verify().ok


def test_chains_are_independent(sql_url, unique_name):
    first, second = AuditStore(sql_url, unique_name + "a"), AuditStore(sql_url, unique_name + "b")
    fill(first, 2)
    fill(second, 3)
    execute(second, "DELETE FROM audit_records WHERE chain = :chain AND seq = 1")
    assert first.verify().ok and not second.verify().ok


def test_verify_command_exit_status_names_the_first_bad_record(store, capsys):
    fill(store)
    assert audit_cli(["verify", "--url", store.url, "--chain", store.chain]) == 0
    assert "5 records" in capsys.readouterr().out
    execute(store, "UPDATE audit_records SET kind = 'write' WHERE chain = :chain AND seq = 4")
    assert audit_cli(["verify", "--url", store.url, "--chain", store.chain]) == 1
    assert "record seq 4" in capsys.readouterr().err


def test_verify_command_as_a_process(store):
    fill(store, 2)
    env = dict(os.environ, FRONTLINE_DATABASE_URL=store.url, FRONTLINE_AUDIT_CHAIN=store.chain)
    command = [sys.executable, "-m", "frontline.audit", "verify"]
    ok = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    execute(store, "DELETE FROM audit_records WHERE chain = :chain AND seq = 1")
    bad = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "record seq 2" in bad.stderr


def test_export_treats_personal_data_for_exports(store, capsys):
    store.append(
        [
            NewRecord(
                "decision", {"customer_id": "C1001", "text": "hello", "order_id": "482914"}, "c1"
            )
        ]
    )
    assert audit_cli(["export", "--url", store.url, "--chain", store.chain]) == 0
    line = capsys.readouterr().out
    assert '"customer_id":"sha256:' in line and '"text":null' in line and '"482914"' in line

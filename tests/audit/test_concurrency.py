"""Several processes and threads appending to one chain at once never fork it."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from frontline.audit import AuditStore, NewRecord
from frontline.errors import AuditError

ROOT = Path(__file__).resolve().parents[2]
APPENDER = """
import sys
from frontline.audit import AuditStore, NewRecord
store = AuditStore(sys.argv[1], sys.argv[2])
for index in range(int(sys.argv[3])):
    store.append([NewRecord("decision", {"writer": sys.argv[4], "n": index})])
"""


def test_concurrent_appenders_keep_one_chain(sql_url, unique_name):
    store = AuditStore(sql_url, unique_name)
    per_writer = 25
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, sql_url, unique_name, str(per_writer), f"p{i}"],
            cwd=ROOT,
        )
        for i in range(2)
    ]
    errors: list[AuditError] = []

    def thread_writer(name: str) -> None:
        try:
            for index in range(per_writer):
                store.append([NewRecord("decision", {"writer": name, "n": index})])
        except AuditError as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=thread_writer, args=(f"t{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(process.wait(timeout=120) == 0 for process in processes)
    assert not errors
    result = store.verify()
    assert result.ok, result.first_bad
    assert result.records == 4 * per_writer
    records = store.records()
    assert [r.seq for r in records] == list(range(1, 4 * per_writer + 1))
    for writer in ("p0", "p1", "t0", "t1"):
        # Each writer's records keep their order in the chain.
        assert [r.payload["n"] for r in records if r.payload["writer"] == writer] == list(
            range(per_writer)
        )

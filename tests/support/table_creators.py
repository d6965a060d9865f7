"""Processes that create Frontline's tables on one fresh database at the same moment.

Each process checks which tables exist, then waits at a barrier before its CREATE
statements: every process has seen an empty database before any creates a table,
which is how two workers starting together meet a fresh database (tests/frontline/
test_db.py).
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import sqlalchemy as sa

#: How long a creator waits for the others at the barrier. Where creators are
#: serialised (PostgreSQL's advisory lock) the others cannot arrive: the barrier
#: breaks after this long and the creator goes on.
BARRIER_TIMEOUT_SECONDS = 2.0


def create_after_barrier(url: str, barrier: Any, results: Any) -> None:
    """Runs in a child process: creates the tables, reports "ok" or the error."""
    import frontline.audit.store  # noqa: F401 - registers the audit tables on Base
    from frontline.db import Base, get_engine

    def wait_for_the_others(*_: Any, **__: Any) -> None:
        try:
            barrier.wait(BARRIER_TIMEOUT_SECONDS)
        except threading.BrokenBarrierError:
            pass

    sa.event.listen(Base.metadata, "before_create", wait_for_the_others)
    try:
        get_engine(url)
    except sa.exc.SQLAlchemyError as exc:
        results.put(f"{type(exc).__name__}: {exc}".splitlines()[0])
    else:
        results.put("ok")


def run_creators(url: str, count: int) -> list[str]:
    """Starts ``count`` creators on ``url`` together; returns what each reported."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(count)
    results = context.Queue()
    processes = [
        context.Process(target=create_after_barrier, args=(url, barrier, results))
        for _ in range(count)
    ]
    for process in processes:
        process.start()
    reports = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return reports

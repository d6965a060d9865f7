"""Helpers of the handoff queue tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from frontline.handoff.queue import AlreadyClaimed, HandoffQueue, QueueEntry

T = TypeVar("T")


def must_get(queue: HandoffQueue, entry_id: str) -> QueueEntry:
    entry = queue.get(entry_id)
    assert entry is not None, entry_id
    return entry


def make_packet(handoff_id: str = "h" * 24, conversation_id: str = "conv-1", **extra: Any) -> dict:
    """A JSON-able packet; the queue cares only about the two ids and the priority."""
    return {
        "schema_version": "1.0",
        "handoff_id": handoff_id,
        "conversation_id": conversation_id,
        "priority": "high",
        "summary": "Customer wanted to cancel an order — it had shipped. Ünïcödé ✓",
        "customer": {"verified": True, "name": "Jane D.", "email": "j***@example.com"},
        "last_turns": [{"speaker": "customer", "text": "cancel #482913", "timestamp": "x"}],
        "confidence": 0.875,
        "tags": [],
        "nothing": None,
        **extra,
    }


def wait_until(condition: Callable[[], T], *, timeout: float = 10.0, every: float = 0.05) -> T:
    """Polls ``condition`` until it returns something truthy (bounded); returns that.

    Raises:
        AssertionError: The condition did not hold within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)  # polling interval of a bounded wait


def claim_race(queue: HandoffQueue, entry_id: str, agents: Sequence[str]) -> list[str | None]:
    """Every agent claims the entry at the same moment (behind a barrier), each in a thread.

    Returns:
        For each agent, in order, the owner its claim returned, or None if it was refused.
    """
    barrier = threading.Barrier(len(agents))

    def claim(agent: str) -> str | None:
        barrier.wait()
        try:
            return queue.claim(entry_id, agent).claimed_by
        except AlreadyClaimed:
            return None

    with ThreadPoolExecutor(len(agents)) as pool:
        return list(pool.map(claim, agents))

"""Erasing a conversation's handoffs and purging old resolved ones, on every backend."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from frontline.handoff.queue import HandoffQueue
from tests.handoff.support import make_packet


def test_erasing_a_conversation_deletes_all_its_entries(queue: HandoffQueue) -> None:
    resolved = queue.enqueue(make_packet("a" * 24, "conv-erase", note="Jane Doe 221B"))
    queue.resolve(resolved, "agent-1", "solved")
    open_entry = queue.enqueue(make_packet("b" * 24, "conv-erase"))
    queue.claim(open_entry, "agent-1")
    other = queue.enqueue(make_packet("c" * 24, "conv-other"))

    assert queue.erase_conversation("conv-erase") == 2

    assert queue.find_by_conversation("conv-erase") == []
    assert queue.get(resolved) is None and queue.get(open_entry) is None
    assert [entry.entry_id for entry in queue.open_entries()] == [other]
    assert queue.held_by("agent-1") == []
    assert queue.erase_conversation("conv-erase") == 0
    # The conversation can be handed off again afterwards.
    assert queue.enqueue(make_packet("d" * 24, "conv-erase")) not in (resolved, open_entry)


def test_purging_deletes_only_entries_resolved_before_the_cutoff(queue: HandoffQueue) -> None:
    old = queue.enqueue(make_packet("a" * 24, "conv-1"))
    queue.resolve(old, "agent-1", "solved")
    still_open = queue.enqueue(make_packet("b" * 24, "conv-2"))

    later = datetime.now(timezone.utc) + timedelta(seconds=5)
    assert queue.purge_resolved(later - timedelta(days=1)) == 0
    assert queue.purge_resolved(later) == 1

    assert queue.get(old) is None
    assert queue.get(still_open) is not None

"""Rebuilding the outcome records from Rasa's own SQL tracker store."""

from __future__ import annotations

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from frontline.outcomes.rebuild import rebuild
from tests.outcomes.support import Clock, make_writer, recorded


async def test_records_are_rebuilt_from_the_tracker_store_and_verdicts_kept(outcome_url, tmp_path):
    tracker_store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db"))
    conversations = [recorded(name) for name in ("order_status_rated", "backend_error_handoff")]
    for conversation in conversations:
        tracker = DialogueStateTracker.from_dict(
            conversation.conversation_id,
            [{k: v for k, v in e.items() if k != "sender_id"} for e in conversation.events],
        )
        await tracker_store.save(tracker)
    clock = Clock(max(c.end() for c in conversations) + 60)
    live = make_writer(outcome_url, clock=clock)
    for conversation in conversations:
        live.feed(conversation.events)
    before = {c.conversation_id: live.record(c.conversation_id) for c in conversations}
    escalated = before[conversations[1].conversation_id]
    live.store.mark_could_have_handled(escalated.contact_id, "ana", True, None, clock.now)

    count = rebuild(live.processor, f"sqlite:///{tmp_path / 't.db'}")

    assert count == 2
    volatile = {"updated_at", "version", "could_have_handled", "could_have_handled_by",
                "could_have_handled_at"}  # fmt: skip
    for conversation in conversations:
        again = live.record(conversation.conversation_id).as_dict()
        expected = before[conversation.conversation_id].as_dict()
        assert {k: v for k, v in again.items() if k not in volatile} == {
            k: v for k, v in expected.items() if k not in volatile
        }
    verdict = live.record(conversations[1].conversation_id)
    assert verdict.could_have_handled is True and verdict["could_have_handled_by"] == "ana"

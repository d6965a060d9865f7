"""The desk service's pure parts: the live transcript, reply checks, entry views.

Claims, replies and hand-backs against a running Rasa: ``tests/desk/``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from frontline.handoff.desk import MAX_REPLY_LENGTH, clean_reply
from frontline.handoff.desk_views import entry_card, entry_detail, packet_transcript, transcript
from frontline.handoff.entry import QueueEntry

T0 = 1_793_520_000.0  # 2026-11-01T08:00:00Z


def event(kind: str, text: str = "", offset: float = 0, **extra: object) -> dict:
    return {"event": kind, "text": text, "timestamp": T0 + offset, **extra}


def test_the_transcript_says_who_spoke_and_what_came_while_waiting() -> None:
    tracker = {
        "events": [
            {"event": "action", "name": "action_session_start", "timestamp": T0},
            event("user", "where is order 482913? I'm jane.doe@example.com", 1),
            event("bot", "Order 482913 ships with UPS 1Z999AA10123456784.", 2),
            event("user", "I want a person", 3),
            event("bot", "I've passed your conversation to a human colleague.", 4),
            {"event": "pause", "timestamp": T0 + 5},
            event("user", "call me on +1 415 555 0134", 6),
            event("bot", "Hi Jane, Ben here.", 7, metadata={"frontline_agent": "ben"}),
            event("user", "   ", 8),
            {"event": "resume", "timestamp": T0 + 9},
            event("user", "thanks", 10),
        ]
    }

    turns = transcript(tracker)

    assert [(t["speaker"], t.get("while_waiting", False)) for t in turns] == [
        ("customer", False),
        ("assistant", False),
        ("customer", False),
        ("assistant", False),
        ("customer", True),
        ("agent", False),
        ("customer", False),
    ]
    assert turns[0]["text"] == "where is order 482913? I'm j***@example.com"
    assert turns[1]["text"].endswith("1Z999AA10123456784.")  # our own references stay readable
    assert "0134" not in turns[4]["text"]  # the customer's phone number is masked
    assert turns[5]["agent"] == "ben"
    assert turns[0]["timestamp"] == "2026-11-01T08:00:01+00:00"


def test_the_transcript_keeps_the_latest_turns_and_skips_junk() -> None:
    events = [event("user", f"message {i}", i) for i in range(250)]
    events += [{"event": "user", "text": None}, "not an event", {"event": "bot"}]

    turns = transcript({"events": events})

    assert len(turns) == 200 and turns[-1]["text"] == "message 249"
    assert transcript({}) == []


def test_the_packet_turns_stand_in_when_rasa_is_down() -> None:
    packet = {"last_turns": [{"speaker": "customer", "text": "hi", "timestamp": "t", "x": 1}]}
    assert packet_transcript(packet) == [{"speaker": "customer", "text": "hi", "timestamp": "t"}]
    assert packet_transcript({}) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Hello!  ", "Hello!"),
        ("line one\r\nline two\ttabbed", "line one\nline two\ttabbed"),
        ("x" * MAX_REPLY_LENGTH, "x" * MAX_REPLY_LENGTH),
    ],
)
def test_replies_are_tidied(text: str, expected: str) -> None:
    assert clean_reply(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   \n ", "x" * (MAX_REPLY_LENGTH + 1), "bell\x07", "nul\x00", None, 42]
)
def test_unusable_replies_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        clean_reply(text)


def test_entry_views_carry_timings_and_no_more_than_the_card_needs() -> None:
    enqueued = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
    entry = QueueEntry(
        entry_id="e1",
        packet={
            "handoff_id": "h" * 24,
            "conversation_id": "c1",
            "channel": "socketio",
            "priority": "urgent",
            "reason": {"code": "backend_error", "rationale": "The order system timed out."},
            "customer": {"verified": False, "name": None, "email": None},
            "summary": "A" * 300,
        },
        status="resolved",
        enqueued_at=enqueued,
        claimed_by="ben",
        claimed_at=enqueued + timedelta(seconds=90),
        resolved_at=enqueued + timedelta(seconds=390),
        resolution_code="refund_issued",
        priority="urgent",
        first_claimed_at=enqueued + timedelta(seconds=45),
        claims=2,
        reoffers=1,
    )

    card = entry_card(entry, enqueued + timedelta(hours=1))
    detail = entry_detail(entry, enqueued + timedelta(hours=1))

    assert card["waited_seconds"] == 45  # until the first claim, not until now
    assert len(card["summary"]) == 180 and card["summary"].endswith("…")
    assert card["customer"] == {"verified": False, "name": None, "tier": None}
    assert (card["reason"], card["channel"], card["reoffers"]) == ("backend_error", "socketio", 1)
    assert detail["timings"] == {"waiting_seconds": 45.0, "handling_seconds": 345.0}
    assert detail["first_claimed_at"] == "2026-11-01T08:00:45+00:00"
    assert detail["packet"] is entry.packet and detail["claims"] == 2

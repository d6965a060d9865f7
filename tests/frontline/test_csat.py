"""CSAT: the store (over every implementation and database) and the service rules."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from frontline.errors import ConfigurationError
from frontline.feedback import (
    CsatRecord,
    FeedbackStore,
    InvalidFeedback,
    SqlFeedbackStore,
    create,
    create_from_settings,
)
from frontline.services.csat import CsatOutcome, ask_csat, read_feedback, record_feedback
from frontline.settings import Settings

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)


def record(feedback_id: str, **changes) -> CsatRecord:
    fields = dict(
        feedback_id=feedback_id,
        conversation_id=f"conv-{feedback_id}",
        channel="rest",
        intent="cancel_order",
        score=4,
        comment=None,
        created_at=NOW,
        updated_at=NOW,
    )
    return CsatRecord(**(fields | changes))


@pytest.fixture
def store(sql_url: str) -> FeedbackStore:
    """A feedback store on SQLite, then on PostgreSQL (every implementation and database)."""
    with create({"type": "sql", "url": sql_url}) as feedback_store:
        yield feedback_store


def test_a_rating_then_a_comment_make_one_record(store, unique_name):
    first = store.save(record(unique_name))
    assert first.score == 4 and first.comment is None
    later = NOW + timedelta(minutes=1)
    completed = store.save(
        record(unique_name, score=None, comment="quick, thanks", updated_at=later)
    )
    assert completed.score == 4 and completed.comment == "quick, thanks"
    assert completed.created_at == NOW and completed.updated_at == later
    assert store.get(unique_name) == completed
    assert store.for_conversation(f"conv-{unique_name}") == [completed]


def test_records_keep_conversation_channel_and_intent(store, unique_name):
    saved = store.save(record(unique_name, channel="slack", intent="reset_password", score=2))
    assert (saved.conversation_id, saved.channel, saved.intent, saved.score) == (
        f"conv-{unique_name}",
        "slack",
        "reset_password",
        2,
    )
    assert store.get("no-such-record") is None


@pytest.mark.parametrize(
    "changes",
    [
        {"score": 0},
        {"score": 6},
        {"score": None, "comment": None},
        {"conversation_id": ""},
        {"channel": ""},
        {"created_at": datetime(2026, 11, 24)},
    ],
)
def test_invalid_records_are_refused(store, unique_name, changes):
    with pytest.raises(InvalidFeedback):
        store.save(record(unique_name, **changes))
    assert store.get(unique_name) is None


def test_concurrent_answers_to_one_question_make_one_record(store, unique_name):
    barrier = threading.Barrier(4)

    def save(index: int) -> None:
        barrier.wait()
        store.save(record(unique_name, score=index + 1))

    threads = [threading.Thread(target=save, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.for_conversation(f"conv-{unique_name}")) == 1


def test_the_table_is_plain_for_designers(sql_url, unique_name):
    store = SqlFeedbackStore(sql_url)
    store.save(record(unique_name, comment="j***@example.com was slow"))
    engine = sa.create_engine(sql_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                sa.text(
                    "SELECT conversation_id, channel, intent, score, comment FROM csat_feedback "
                    "WHERE feedback_id = :id"
                ),
                {"id": unique_name},
            ).one()
    finally:
        engine.dispose()
    assert tuple(row) == (
        f"conv-{unique_name}",
        "rest",
        "cancel_order",
        4,
        "j***@example.com was slow",
    )


def test_the_factory():
    assert isinstance(create({"type": "sql", "url": "sqlite:///x.db"}), SqlFeedbackStore)
    assert isinstance(create_from_settings(Settings()), SqlFeedbackStore)
    with pytest.raises(ConfigurationError):
        create({"type": "csv", "url": "x"})
    with pytest.raises(ConfigurationError):
        create({"type": "sql"})


# -- the service ---------------------------------------------------------------------------


def test_asked_once_per_conversation_session():
    question = ask_csat(None, "cancel_order", "c1", NOW)
    assert question["intent"] == "cancel_order" and question["rated"] is False
    assert question["feedback_id"] != ask_csat(None, "cancel_order", "c2", NOW)["feedback_id"]
    assert ask_csat(question, "request_return", "c1", NOW) is None  # skipped: not again
    assert ask_csat(question | {"rated": True}, "request_return", "c1", NOW) is None


@pytest.mark.parametrize(
    "text, entities, score, comment",
    [
        ('/csat_feedback{"rating": "4"}', ["4"], 4, None),
        ("5", ["5"], 5, None),
        ("4 out of 5", [], 4, None),
        ("four stars, quick and easy", [], 4, "four stars, quick and easy"),
        ("you were really helpful", [], None, "you were really helpful"),
        ("3, mail me at jane.doe@example.com", ["3"], 3, "3, mail me at j***@example.com"),
        ("", [], None, None),
    ],
)
def test_reading_feedback(text, entities, score, comment):
    feedback = read_feedback(text, entities)
    assert (feedback.score, feedback.comment) == (score, comment)


async def test_record_feedback_marks_the_question_answered(sqlite_url):
    store = SqlFeedbackStore(sqlite_url)
    question = ask_csat(None, "check_order_status", "conv-1", NOW)
    rated = await record_feedback(
        store,
        pending=question,
        feedback=read_feedback("4", ["4"]),
        conversation_id="conv-1",
        channel="socketio",
        latest_intent=None,
        now=NOW,
    )
    assert rated.outcome is CsatOutcome.SAVED and rated.response == "utter_csat_thanks"
    assert rated.pending["rated"] is True
    commented = await record_feedback(
        store,
        pending=rated.pending,
        feedback=read_feedback("the tracking link was great", []),
        conversation_id="conv-1",
        channel="socketio",
        latest_intent=None,
        now=NOW,
    )
    assert commented.outcome is CsatOutcome.COMMENT_SAVED
    [stored] = store.for_conversation("conv-1")
    assert (stored.score, stored.comment, stored.channel, stored.intent) == (
        4,
        "the tracking link was great",
        "socketio",
        "check_order_status",
    )
    nothing = await record_feedback(
        store,
        pending=None,
        feedback=read_feedback("", []),
        conversation_id="conv-2",
        channel="rest",
        latest_intent="cancel_order",
        now=NOW,
    )
    assert nothing.outcome is CsatOutcome.NOT_UNDERSTOOD and store.for_conversation("conv-2") == []

"""The review inbox's API on a real desk: what a reviewer sees (masked), labels, flags.

The database holds the review scenario (``tests/review/scenario.py``); the Rasa server
is down, so the conversation view shows the handoff packet's turns.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from frontline.audit.store import AuditStore
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.review.store import create
from tests.desk.conftest import DeskClient
from tests.desk.review_support import BOT_REPLY, ReviewDesk, start_review_desk
from tests.review.scenario import RAW_EMAIL


@pytest.fixture(scope="module")
def review_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewDesk]:
    yield from start_review_desk(tmp_path_factory.mktemp("review-desk"))


def groups_by_conversation(client: DeskClient) -> dict[str, dict]:
    inbox = client.ok("GET", "/api/review/inbox")
    found = {}
    for group in inbox["groups"]:
        for item in group["items"]:
            found[item["conversation_id"].split("-")[1]] = item | {"group": group}
    return found


def audit_kinds(run: ReviewDesk) -> list[str]:
    records = AuditStore(run.desk.database_url, "main").records()
    return [record.kind for record in records if record.kind.startswith("review_")]


def test_a_reviewer_sees_groups_ranked_by_impact_with_personal_data_masked(
    review_desk: ReviewDesk,
) -> None:
    inbox = review_desk.reviewer.ok("GET", "/api/review/inbox")

    groups = inbox["groups"]
    assert [g["intent"] for g in groups] == ["faq", "cancel_order", "check_order_status"]
    assert [g["impact"] for g in groups] == [6.0, 4.0, 3.0]
    texts = [item["text"] for g in groups for item in g["items"]]
    assert "where is my parcel 482913 email j***@gmail.com" in texts
    assert RAW_EMAIL not in str(inbox)
    assert "faq/payment_options" in inbox["intents"] and "out_of_scope" in inbox["intents"]
    assert set(inbox["verdicts"]) == {"could_have_handled", "escalate_sooner", "wrong_answer"}


def test_reviewers_use_the_inbox_only_and_agents_do_not_review(review_desk: ReviewDesk) -> None:
    ben = review_desk.desk.agents["ben"]
    ana = review_desk.desk.agents["ana"]

    queue = review_desk.reviewer.call("GET", "/api/queue")
    entry = review_desk.reviewer.call("GET", f"/api/entries/{review_desk.entry_id}")
    inbox = ben.call("GET", "/api/review/inbox")

    assert queue.status_code == 403 and queue.json()["error"] == "forbidden"
    assert entry.status_code == 403
    assert inbox.status_code == 403 and "reviewers and supervisors" in inbox.json()["message"]
    assert ana.ok("GET", "/api/review/inbox")["groups"]  # supervisors review too
    assert review_desk.reviewer.ok("GET", "/api/me")["agent"]["role"] == "reviewer"


def test_an_agent_flags_the_assistants_turn_and_it_reaches_inbox_and_outcome_record(
    review_desk: ReviewDesk,
) -> None:
    ben = review_desk.desk.agents["ben"]
    path = f"/api/entries/{review_desk.entry_id}/flag"
    timestamp = review_desk.bot_turn_timestamp()

    flagged = ben.ok(
        "POST", path, {"timestamp": timestamp, "reason": "wrong_answer", "note": "refund is late"}
    )
    unknown = ben.call(
        "POST", path, {"timestamp": "2020-01-01T00:00:00Z", "reason": "wrong_answer"}
    )
    bad_reason = ben.call("POST", path, {"timestamp": timestamp, "reason": "rude"})

    assert flagged["changed"] is True and flagged["flag"]["bot_text"] == BOT_REPLY
    assert unknown.status_code == 400 and unknown.json()["error"] == "unknown_turn"
    assert bad_reason.status_code == 400 and "reason must be one of" in bad_reason.json()["message"]
    item = groups_by_conversation(review_desk.reviewer)["f"]
    assert item["signals"] == {"agent_flag": 1}
    assert item["flags"] == [
        {
            "reason": "wrong_answer",
            "label": "Wrong answer",
            "bot_text": BOT_REPLY,
            "note": "refund is late",
        }
    ]
    record = SqlOutcomeStore(review_desk.desk.database_url).get(f"f{review_desk.scenario.tag}")
    assert record is not None and record["agent_flags"] == 1
    assert "review_flag" in audit_kinds(review_desk)


def test_a_reviewer_labels_a_group_and_judges_a_conversation(review_desk: ReviewDesk) -> None:
    rita = review_desk.reviewer
    group = groups_by_conversation(rita)["a"]["group"]

    labelled = rita.ok("POST", "/api/review/labels", {"keys": group["keys"], "decision": "confirm"})
    bad = rita.call("POST", "/api/review/labels", {"keys": group["keys"], "decision": "approve"})
    judged = rita.ok(
        "POST",
        "/api/review/verdicts",
        {
            "conversation_id": review_desk.scenario.conversation("d"),
            "verdict": "could_have_handled",
        },
    )

    assert labelled == {"labelled": 2, "changed": 2, "decision": "confirm"}
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"
    assert judged["changed"] is True
    remaining = groups_by_conversation(rita)
    assert "a" not in remaining and "b" not in remaining
    assert remaining["d"]["verdicts"] == ["could_have_handled"]
    labels = create({"type": "sql", "url": review_desk.desk.database_url}).labels(group["keys"])
    assert {label.reviewer for label in labels.values()} == {review_desk.reviewer_name}
    engine = sa.create_engine(review_desk.desk.database_url)
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT text FROM review_labels")).scalars().all()
    engine.dispose()
    assert stored and all(RAW_EMAIL not in text for text in stored)
    assert audit_kinds(review_desk).count("review_label") == 1

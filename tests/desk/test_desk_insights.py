"""The Insights API and the "could have handled" verdict, against a real desk process.

The outcome records are the hand-computed set of ``tests/outcomes/dataset.py`` (ten
counted contacts from 2027-01-15), written into the desk's own database; the figures
the API answers are checked against the values computed by hand there.
"""

from __future__ import annotations

from typing import Any

import pytest

from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.tables import contact_outcomes
from tests.desk.conftest import Desk, DeskClient
from tests.desk.test_desk_api import packet
from tests.outcomes import dataset

RANGE = "since=2027-01-15&until=2027-01-21"


@pytest.fixture(scope="module")
def records(lone_desk: Desk) -> SqlOutcomeStore:
    store = SqlOutcomeStore(lone_desk.database_url)
    dataset.load(store)
    return store


def ids(answer: dict[str, Any]) -> list[str]:
    return [row["contact_id"] for row in answer["contacts"]]


def test_a_supervisor_gets_every_figure_of_the_range(
    lone_desk: Desk, records: SqlOutcomeStore
) -> None:
    ana = lone_desk.agents["ana"]
    answer = ana.ok("GET", f"/api/insights?{RANGE}")
    overall = answer["overall"]
    # The range is whole days (UTC): contact 13, two hours before T0, is in it too.
    assert (overall["contacts"], overall["counted"]) == (13, 11)
    assert overall["outcomes"] == {
        "resolved_by_assistant": 5,
        "resolved_after_clarification": 1,
        "resolved_by_person": 1,
        "handed_back_resolved": 1,
        "escalated": 2,
        "abandoned": 1,
    }
    assert (overall["resolution"]["numerator"], overall["resolution"]["denominator"]) == (8, 11)
    assert overall["could_have_handled"]["numerator"] == 1
    assert overall["could_have_handled"]["denominator"] == 2
    # Impact matrix: one row per interaction type with a recommendation.
    types = {row["interaction_type"]: row for row in answer["impact"]}
    assert set(types) == {"check_order_status", "cancel_order", "faq", "request_human"}
    assert types["check_order_status"]["contacts"] == 4
    assert {row["recommendation"] for row in answer["impact"]} <= {
        "automate",
        "assist",
        "keep_human",
    }
    reasons = answer["escalation_reasons"]
    assert reasons["customer_request"]["numerator"] == 2
    assert reasons["backend_error"]["numerator"] == 1
    assert answer["cost"]["savings_lower"] <= answer["cost"]["savings"]
    assert answer["cost"]["savings"] <= answer["cost"]["savings_upper"]
    assert {row["objective_id"] for row in answer["slo"]} >= {"resolution_rate", "csat_top2"}
    assert answer["options"]["channel"] == ["rest", "slack", "socketio"]
    # Per day: the first day (2027-01-15) has contacts 13, 1, 11, 12 and 2.
    first_day = str(int(dataset.T0 // 86_400))
    assert answer["daily"][first_day] == {
        "resolved_by_assistant": 2,
        "resolved_after_clarification": 1,
        "in_progress": 1,
        "unengaged": 1,
    }


def test_a_segment_filter_narrows_every_figure(lone_desk: Desk, records: SqlOutcomeStore) -> None:
    ana = lone_desk.agents["ana"]
    slack = ana.ok("GET", f"/api/insights?{RANGE}&channel=slack")
    # Slack: contacts 3, 4 and 10; resolved 3 and 10.
    assert slack["overall"]["counted"] == 3
    assert slack["overall"]["resolution"]["numerator"] == 2
    assert slack["filters"] == {"channel": "slack"}
    gold_rest = ana.ok("GET", f"/api/insights?{RANGE}&channel=rest&tier=gold")
    # REST and gold: contacts 1, 2 and 9.
    assert gold_rest["overall"]["counted"] == 3
    assert [row["interaction_type"] for row in gold_rest["impact"]] != []


def test_a_number_drills_down_to_its_contacts_and_one_contact(
    lone_desk: Desk, records: SqlOutcomeStore
) -> None:
    ana = lone_desk.agents["ana"]
    escalated = ana.ok("GET", f"/api/insights/contacts?{RANGE}&outcome=escalated")
    assert ids(escalated) == ["c09", "c04"]  # newest first
    asked = ana.ok("GET", f"/api/insights/contacts?{RANGE}&escalation_reason=customer_request")
    assert ids(asked) == ["c09", "c05"]
    marked = ana.ok("GET", f"/api/insights/contacts?{RANGE}&could_have_handled=true")
    assert ids(marked) == ["c05"]
    slack_repeat = ana.ok("GET", f"/api/insights/contacts?{RANGE}&channel=slack&is_repeat=true")
    assert ids(slack_repeat) == ["c04"]
    one = ana.ok("GET", "/api/insights/contacts/c05")
    assert one["contact"]["outcome"] == "resolved_by_person"
    assert one["contact"]["escalation_reason"] == "customer_request"
    # Rasa is down in this desk: the record is shown, the transcript says so.
    assert (one["transcript"], one["transcript_source"]) == ([], "unavailable")


def test_agents_are_refused_and_bad_requests_get_clear_answers(
    lone_desk: Desk, records: SqlOutcomeStore
) -> None:
    ben, ana = lone_desk.agents["ben"], lone_desk.agents["ana"]
    for path in ("/api/insights", "/api/insights/contacts", "/api/insights/contacts/c05"):
        response = ben.call("GET", path)
        assert (response.status_code, response.json()["error"]) == (403, "forbidden")
    for query, code in (
        ("since=yesterday", "invalid_date"),
        ("since=2027-02-01&until=2027-01-01", "invalid_range"),
        ("since=2020-01-01&until=2027-01-01", "invalid_range"),
    ):
        response = ana.call("GET", f"/api/insights?{query}")
        assert (response.status_code, response.json()["error"]) == (400, code), query
    response = ana.call("GET", f"/api/insights/contacts?{RANGE}&outcome=great")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_filter")
    response = ana.call("GET", f"/api/insights/contacts?{RANGE}&is_repeat=maybe")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_filter")
    response = ana.call("GET", "/api/insights/contacts/nope")
    assert (response.status_code, response.json()["error"]) == (404, "not_found")


def _escalated_contact(store: SqlOutcomeStore, entry_id: str, conversation_id: str) -> None:
    row = dataset.row(
        99,
        dataset.T0,
        contact_id=f"v{entry_id[:10]}",
        conversation_id=conversation_id,
        interaction_type="request_human",
        outcome="resolved_by_person",
        escalation_reason="customer_request",
        escalated_at=dataset.T0 + 10,
        handoff_entry_id=entry_id,
    )
    with store.engine.begin() as connection:
        connection.execute(contact_outcomes.insert().values(row))


def test_the_agent_who_resolved_an_escalation_marks_it_could_have_handled(
    lone_desk: Desk, records: SqlOutcomeStore
) -> None:
    ben: DeskClient = lone_desk.agents["ben"]
    cleo: DeskClient = lone_desk.agents["cleo"]
    entry_id = lone_desk.queue.enqueue(packet())
    conversation_id = lone_desk.queue.get(entry_id).conversation_id
    _escalated_contact(records, entry_id, conversation_id)
    ben.ok("POST", f"/api/entries/{entry_id}/claim")
    # Not resolved yet: no verdict.
    assert ben.ok("GET", f"/api/entries/{entry_id}/verdict")["can_judge"] is False
    response = ben.call("POST", f"/api/entries/{entry_id}/verdict", {"could_have_handled": True})
    assert (response.status_code, response.json()["error"]) == (409, "not_resolved")
    # Resolved on the queue (this desk's Rasa is down, so the desk's resolve answers 502).
    lone_desk.queue.resolve(entry_id, ben.name, "information_given")
    assert ben.ok("GET", f"/api/entries/{entry_id}/verdict")["can_judge"] is True
    # Another agent does not even see it; a bad body is refused.
    assert cleo.call("GET", f"/api/entries/{entry_id}/verdict").status_code == 404
    response = ben.call("POST", f"/api/entries/{entry_id}/verdict", {"could_have_handled": "y"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    verdict = ben.ok(
        "POST",
        f"/api/entries/{entry_id}/verdict",
        {"could_have_handled": True, "note": "order status is self-service"},
    )["verdict"]
    assert (verdict["could_have_handled"], verdict["by"]) == (True, ben.name)
    stored = records.get(f"v{entry_id[:10]}")
    assert stored.could_have_handled is True
    assert stored["could_have_handled_note"] == "order status is self-service"
    # ... and it counts in the metric: 2 of 3 marked escalations now.
    overall = lone_desk.agents["ana"].ok("GET", f"/api/insights?{RANGE}")["overall"]
    assert overall["could_have_handled"]["numerator"] == 2
    assert overall["could_have_handled"]["denominator"] == 3

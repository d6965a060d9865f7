"""The review loop's service on SQLite and PostgreSQL: inbox, labels, verdicts, flags."""

from __future__ import annotations

import time
import uuid

import pytest

from frontline.audit.store import AuditStore
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.review.policy import review_policy
from frontline.review.service import ReviewService
from frontline.review.store import create
from tests.review.scenario import RAW_EMAIL, Scenario, seed

NOW = time.time()  # the audit store stamps records with the real time


@pytest.fixture
def scenario(sql_url: str) -> tuple[ReviewService, Scenario]:
    tag = uuid.uuid4().hex[:10]
    chain = f"review-{tag}"
    scenario = Scenario(tag, NOW)
    seed(sql_url, chain, scenario)
    service = ReviewService(
        store=create({"type": "sql", "url": sql_url}),
        outcomes=SqlOutcomeStore(sql_url),
        audit=AuditStore(sql_url, chain),
        database_url=sql_url,
        policy=review_policy(),
        clock=lambda: NOW,
    )
    return service, scenario


def ours(service: ReviewService, scenario: Scenario) -> list[dict]:
    """The inbox's groups of this test's conversations, in the inbox's order."""
    groups = service.inbox()["groups"]
    return [g for g in groups if any(scenario.tag in i["conversation_id"] for i in g["items"])]


def by_conversation(groups: list[dict], scenario: Scenario) -> dict[str, dict]:
    found = {}
    for group in groups:
        for item in group["items"]:
            found[item["conversation_id"].split("-")[1]] = item | {"group": group}
    return found


def audit_kinds(service: ReviewService) -> list[str]:
    return [record.kind for record in service.audit.records() if record.kind != "decision"]


def test_the_inbox_groups_similar_messages_and_ranks_them_by_impact(scenario) -> None:
    service, run = scenario
    service.flag(
        "ben", run.conversation("f"), run.at("f") + 2, "Here is how returns work", "wrong_answer"
    )

    groups = ours(service, run)
    items = by_conversation(groups, run)

    # a and b: the same intent and similar words, one group; e had no signal.
    assert set(items) == {"a", "b", "c", "d", "f"}
    assert items["a"]["group"]["group_id"] == items["b"]["group"]["group_id"]
    assert items["a"]["group"]["intent"] == "check_order_status"
    assert items["a"]["signals"] == {"clarification": 1, "low_confidence": 1}
    assert items["c"]["signals"] == {"low_confidence": 1, "fallback": 1, "rephrase": 1}
    assert items["c"]["intent"] == "faq"  # the best intent behind the fallback
    assert items["d"]["signals"] == {"poor_rating": 1}
    assert items["f"]["signals"] == {"agent_flag": 1}
    assert items["f"]["flags"][0]["label"] == "Wrong answer"
    # Impact = sum of severities: c 6, f 5, d 4, {a, b} 2 + 1.
    assert [g["impact"] for g in groups] == [6.0, 5.0, 4.0, 3.0]
    assert [g["count"] for g in groups] == [1, 1, 1, 2]
    # Personal data is masked for the reviewer.
    assert RAW_EMAIL not in str(groups)
    assert "j***@gmail.com" in items["a"]["text"]


def test_labels_are_idempotent_audited_and_take_messages_out_of_the_inbox(scenario) -> None:
    service, run = scenario
    group = by_conversation(ours(service, run), run)["a"]["group"]

    first = service.label("rita", group["keys"], "confirm")
    again = service.label("rita", group["keys"], "confirm")

    assert first == {"labelled": 2, "changed": 2, "decision": "confirm"}
    assert again["changed"] == 0
    assert audit_kinds(service) == ["review_label"]  # once, not for the repeat
    labels = service.store.labels(group["keys"])
    assert {label.intent for label in labels.values()} == {"check_order_status"}
    assert all(RAW_EMAIL not in label.text for label in labels.values())
    assert set(by_conversation(ours(service, run), run)) == {"c", "d"}


def test_correct_out_of_scope_and_new_intent(scenario) -> None:
    service, run = scenario
    items = by_conversation(ours(service, run), run)

    service.label("rita", [items["c"]["key"]], "correct", "faq/payment_options")
    service.label("rita", [items["d"]["key"]], "out_of_scope")
    service.label("rita", [items["b"]["key"]], "new_intent", "parcel_tracking")

    labels = service.store.labels([items[n]["key"] for n in "cdb"])
    assert labels[items["c"]["key"]].intent == "faq/payment_options"
    assert labels[items["c"]["key"]].predicted_intent == "faq"
    assert labels[items["d"]["key"]].intent == "out_of_scope"
    assert labels[items["b"]["key"]].decision == "new_intent"
    assert audit_kinds(service) == ["review_label"] * 3


@pytest.mark.parametrize(
    ("decision", "intent", "problem"),
    [
        ("approve", None, "decision must be one of"),
        ("correct", "no_such_intent", "unknown intent"),
        ("correct", None, "name the intent"),
        ("new_intent", "cancel_order", "exists already"),
        ("new_intent", "Bad Name", "lower-case"),
    ],
)
def test_bad_labels_are_refused(scenario, decision, intent, problem) -> None:
    service, run = scenario
    key = by_conversation(ours(service, run), run)["a"]["key"]
    with pytest.raises(ValueError, match=problem):
        service.label("rita", [key], decision, intent)
    with pytest.raises(ValueError, match="not in the review window"):
        service.label("rita", ["0" * 32], "confirm")
    assert audit_kinds(service) == []


def test_a_flag_lands_in_the_outcome_record_once(scenario) -> None:
    service, run = scenario
    conversation = run.conversation("f")

    first = service.flag(
        "ben", conversation, run.at("f") + 2, "mail jane.doe@gmail.com", "wrong_answer"
    )
    again = service.flag(
        "ben", conversation, run.at("f") + 2, "mail jane.doe@gmail.com", "wrong_answer"
    )
    with pytest.raises(ValueError, match="reason must be one of"):
        service.flag("ben", conversation, run.at("f") + 2, "x", "rude")

    assert first["changed"] is True and again["changed"] is False
    assert first["flag"]["bot_text"] == "mail j***@gmail.com"
    record = service.outcomes.get(f"f{run.tag}")
    assert record is not None
    assert record["agent_flags"] == 1 and record["agent_flag_reasons"] == "wrong_answer"
    assert audit_kinds(service) == ["review_flag"]


def test_could_have_handled_verdict_marks_the_outcome_record(scenario) -> None:
    service, run = scenario
    conversation = run.conversation("d")

    result = service.verdict("rita", conversation, "could_have_handled", "FAQ covers it")
    service.verdict("rita", conversation, "escalate_sooner")

    assert result["changed"] is True and result["contact_id"] == f"d{run.tag}"
    record = service.outcomes.get(f"d{run.tag}")
    assert record is not None and record.could_have_handled is True
    assert record["could_have_handled_by"] == "rita"
    verdicts = by_conversation(ours(service, run), run)["d"]["verdicts"]
    assert verdicts == ["could_have_handled", "escalate_sooner"]
    with pytest.raises(ValueError, match="verdict must be one of"):
        service.verdict("rita", conversation, "meh")
    with pytest.raises(ValueError, match="not in the review window"):
        service.verdict("rita", "nobody", "wrong_answer")
    assert audit_kinds(service) == ["review_verdict", "review_verdict"]


def test_flagged_contacts_are_a_metric(sqlite_url: str) -> None:
    from frontline.metrics.summary import compute_metrics

    run = Scenario(uuid.uuid4().hex[:10], NOW)
    seed(sqlite_url, "main", run)
    service = ReviewService(
        store=create({"type": "sql", "url": sqlite_url}),
        outcomes=SqlOutcomeStore(sqlite_url),
        audit=AuditStore(sqlite_url, "main"),
        database_url=sqlite_url,
        policy=review_policy(),
        clock=lambda: NOW,
    )
    service.flag("ben", run.conversation("f"), run.at("f") + 2, "Returns are free.", "tone")

    overall = compute_metrics(service.outcomes, NOW - 7200, NOW + 60, now=NOW).overall

    assert overall.counted == 2  # contacts d and f
    assert (overall.agent_flagged.numerator, overall.agent_flagged.denominator) == (1, 2)
    assert overall.as_dict()["agent_flagged"]["value"] == 0.5

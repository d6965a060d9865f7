"""A small set of outcome records whose metrics are computed by hand in the tests.

Ten counted contacts started 12 hours apart from ``T0``, plus one in progress, one
unengaged and one before the range::

    #  channel  tier    type                outcome                       handoff (reason, wait, person)   CSAT  asked  assistant s  calls/fails  forms s/c  turns  other
    1  rest     gold    check_order_status  resolved_by_assistant         -                                5     yes    60           1/0          1/1        4
    2  rest     gold    check_order_status  resolved_after_clarification  -                                4     yes    120          1/0          1/1        6      1 clarifying q.
    3  slack    silver  check_order_status  resolved_by_assistant         -                                2     yes    90           2/1          1/1        5      followed by a repeat
    4  slack    silver  check_order_status  escalated                     backend_error, 300 s, -          -     no     30           1/1          1/0        3      a repeat
    5  rest     bronze  cancel_order        resolved_by_person            customer_request, 120 s, 600 s   -     no     40           0/0          0/0        8      could have handled: yes
    6  socketio bronze  cancel_order        handed_back_resolved          policy, 60 s, 300 s              3     yes    80           1/0          1/1        10     could have handled: no
    7  socketio unknown faq                 resolved_by_assistant         -                                -     no     10           0/0          0/0        1      reopened
    8  rest     unknown cancel_order        abandoned                     -                                -     no     50           0/0          1/0        2
    9  rest     gold    request_human       escalated                     customer_request, unclaimed, -   -     no     5            0/0          0/0        2
    10 slack    gold    faq                 resolved_by_assistant         -                                1     yes    20           0/0          0/0        1
"""  # noqa: E501

from __future__ import annotations

from typing import Any

from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.tables import contact_outcomes

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
HOUR = 3600.0
SINCE, UNTIL = T0, T0 + 7 * 24 * HOUR

COLUMNS = (
    "channel", "tier", "interaction_type", "outcome", "escalation_reason",
    "queue_wait_seconds", "human_handle_seconds", "csat_score", "csat_asked",
    "assistant_handle_seconds", "backend_calls", "backend_failures", "actions_started",
    "actions_completed", "turns",
)  # fmt: skip
ROWS = [
    ("rest", "gold", "check_order_status", "resolved_by_assistant", None, None, None, 5, True, 60, 1, 0, 1, 1, 4),  # noqa: E501
    ("rest", "gold", "check_order_status", "resolved_after_clarification", None, None, None, 4, True, 120, 1, 0, 1, 1, 6),  # noqa: E501
    ("slack", "silver", "check_order_status", "resolved_by_assistant", None, None, None, 2, True, 90, 2, 1, 1, 1, 5),  # noqa: E501
    ("slack", "silver", "check_order_status", "escalated", "backend_error", 300, None, None, False, 30, 1, 1, 1, 0, 3),  # noqa: E501
    ("rest", "bronze", "cancel_order", "resolved_by_person", "customer_request", 120, 600, None, False, 40, 0, 0, 0, 0, 8),  # noqa: E501
    ("socketio", "bronze", "cancel_order", "handed_back_resolved", "policy", 60, 300, 3, True, 80, 1, 0, 1, 1, 10),  # noqa: E501
    ("socketio", "unknown", "faq", "resolved_by_assistant", None, None, None, None, False, 10, 0, 0, 0, 0, 1),  # noqa: E501
    ("rest", "unknown", "cancel_order", "abandoned", None, None, None, None, False, 50, 0, 0, 1, 0, 2),  # noqa: E501
    ("rest", "gold", "request_human", "escalated", "customer_request", None, None, None, False, 5, 0, 0, 0, 0, 2),  # noqa: E501
    ("slack", "gold", "faq", "resolved_by_assistant", None, None, None, 1, True, 20, 0, 0, 0, 0, 1),  # noqa: E501
]  # fmt: skip
EXTRA: dict[int, dict[str, Any]] = {
    2: {"clarifying_questions": 1},
    3: {"followed_by_repeat": True},
    4: {"is_repeat": True},
    5: {"could_have_handled": True},
    6: {"could_have_handled": False, "handed_back": True},
    7: {"reopened": True},
}


def row(number: int, started_at: float, **values: Any) -> dict[str, Any]:
    """A full row with neutral defaults."""
    base: dict[str, Any] = {
        "contact_id": f"c{number:02d}",
        "conversation_id": f"conversation-{number}",
        "started_at": started_at,
        "last_event_at": started_at + 300,
        "last_customer_at": started_at + 200,
        "channel": "rest",
        "customer_key": f"k{number}",
        "customer_verified": True,
        "tier": "unknown",
        "engaged": True,
        "model_id": "model-a" if number % 2 else "model-b",
        "policy_version": "p1",
        "confidence_hist": "[0,0,0,0,0,1,0,0,1,2]",
        "fold_state": "{}",
        "version": 1,
        "updated_at": started_at + 300,
    }
    return base | values


def load(store: SqlOutcomeStore) -> None:
    """Writes the records of the module's table (and the three outside the counts)."""
    rows = []
    for number, values in enumerate(ROWS, start=1):
        fields = dict(zip(COLUMNS, values, strict=True))
        if fields["escalation_reason"]:
            fields["escalated_at"] = T0 + (number - 1) * 12 * HOUR + 100
        rows.append(row(number, T0 + (number - 1) * 12 * HOUR, **fields, **EXTRA.get(number, {})))
    rows.append(row(11, T0 + 2 * HOUR, tier="gold", interaction_type="check_order_status",
                    outcome="in_progress", turns=2))  # fmt: skip
    rows.append(row(12, T0 + 3 * HOUR, outcome="unengaged", engaged=False, turns=1))
    rows.append(row(13, T0 - 2 * HOUR, outcome="resolved_by_assistant", interaction_type="faq"))
    with store.engine.begin() as connection:
        for values in rows:  # rows with different columns: one statement each
            connection.execute(contact_outcomes.insert().values(values))

"""A small, known review inbox: decision records and outcome records written directly.

Six conversations (ids end in the run's ``tag``), ``now`` being the reviewers' time::

    conv  customer wrote                                   what the assistant did                      contact            signals (weight)
    a     where is my parcel 482913 email jane.doe@...     "Did you mean" (check_order_status 0.45)    -                  clarification 1, low_confidence 1
    b     where is my parcel 551200                        check_order_status 0.50                     -                  low_confidence 1
    c     can i pay with bitcoin                           fallback (faq 0.20), asked to rephrase      -                  low_confidence 1, fallback 3, rephrase 2
    d     cancel it now                                    cancel_order 0.95                           CSAT 1             poor_rating 4
    e     hello there                                      greet 0.99                                  -                  (none: not in the inbox)
    f     my refund never came                             request_return 0.90                         -                  (agent_flag 5 once flagged)
"""  # noqa: E501

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from frontline.audit.store import AuditStore, NewRecord
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.tables import contact_outcomes
from tests.outcomes.dataset import row

RAW_EMAIL = "jane.doe@gmail.com"
MESSAGES = {
    "a": (f"where is my parcel 482913 email {RAW_EMAIL}", ("nlu_clarify", 0.45),
          ("check_order_status", 0.45), ["action_clarify"]),
    "b": ("where is my parcel 551200", ("check_order_status", 0.5), None, ["action_order_status"]),
    "c": ("can i pay with bitcoin", ("nlu_fallback", 0.2), ("faq", 0.2),
          ["action_fallback", "utter_ask_rephrase"]),
    "d": ("cancel it now", ("cancel_order", 0.95), None, ["action_cancel_order"]),
    "e": ("hello there", ("greet", 0.99), None, ["utter_greet"]),
    "f": ("my refund never came", ("request_return", 0.9), None, ["utter_return_reply"]),
}  # fmt: skip


def iso(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Scenario:
    """The conversations' ids and the times of their messages."""

    tag: str
    now: float

    def conversation(self, name: str) -> str:
        return f"review-{name}-{self.tag}"

    def at(self, name: str) -> float:
        """When the customer's message of conversation ``name`` was answered."""
        return self.now - 3600 + sorted(MESSAGES).index(name) * 60


def decisions(scenario: Scenario) -> list[dict[str, Any]]:
    records = []
    for name, (text, (intent, confidence), runner_up, actions) in MESSAGES.items():
        for offset, action in enumerate(actions):
            records.append(
                {
                    "conversation_id": scenario.conversation(name),
                    "at": iso(scenario.at(name) + offset),
                    "action": action,
                    "policy": "RulePolicy",
                    "confidence": 1.0,
                    "intent": {"name": intent, "confidence": confidence},
                    "runner_up": {"name": runner_up[0], "confidence": runner_up[1]}
                    if runner_up
                    else None,
                    "text": text,
                    "channel": "rest",
                    "message_id": f"m-{name}-{scenario.tag}",
                    "model_id": "model-1",
                }
            )
    return records


def seed(database_url: str, chain: str, scenario: Scenario) -> None:
    """Writes the decision records (raw text: the audit store masks it) and contacts."""
    audit = AuditStore(database_url, chain)
    audit.append([NewRecord("decision", d, d["conversation_id"]) for d in decisions(scenario)])
    store = SqlOutcomeStore(database_url)
    contacts = [
        row(0, scenario.at("d") - 30, contact_id=f"d{scenario.tag}"[:32],
            conversation_id=scenario.conversation("d"), interaction_type="cancel_order",
            outcome="resolved_by_assistant", csat_score=1, csat_asked=True,
            last_event_at=scenario.at("d") + 120),
        row(0, scenario.at("f") - 30, contact_id=f"f{scenario.tag}"[:32],
            conversation_id=scenario.conversation("f"), interaction_type="request_return",
            outcome="escalated", escalation_reason="customer_request",
            last_event_at=scenario.at("f") + 120),
    ]  # fmt: skip
    with store.engine.begin() as connection:
        for values in contacts:
            connection.execute(contact_outcomes.insert().values(values))

"""Every store of personal data, filled for two customers, on SQLite or PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from frontline.audit.store import AuditStore, NewRecord
from frontline.db import ensure_tables, get_engine, session_scope
from frontline.feedback.base import CsatRecord
from frontline.feedback.sql_store import SqlFeedbackStore
from frontline.handoff.queue import HandoffQueue, create
from frontline.outcomes.tables import contact_outcomes
from frontline.privacy.erasure import Stores
from frontline.privacy.stores import TRACKER_TABLE

# Rasa's events table, as its SQL tracker store makes it (without importing Rasa).
events_table = sa.Table(
    TRACKER_TABLE,
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


def pseudonymizer(salt: str) -> Callable[[str], str]:
    """Stands for the keyed hash; a key per test, as a deployment has its own."""

    def pseudonym(customer_id: str) -> str:
        return "k" + uuid.uuid5(uuid.NAMESPACE_URL, salt + customer_id).hex[:31]

    return pseudonym


@dataclass
class Filled:
    """The stores, and what was put in them."""

    url: str
    where: Stores
    queue: HandoffQueue
    chain: AuditStore
    log_file: Path
    sandbox_url: str | None
    conversations: dict[str, str] = field(default_factory=dict)  # label -> id
    customer: str = "C1001"

    def tracker_senders(self) -> set[str]:
        with get_engine(self.url).connect() as connection:
            rows = connection.execute(sa.select(events_table.c.sender_id)).scalars()
            return set(rows) & set(self.conversations.values())

    def outcome_conversations(self) -> set[str]:
        with get_engine(self.url).connect() as connection:
            rows = connection.execute(sa.select(contact_outcomes.c.conversation_id)).scalars()
            return set(rows) & set(self.conversations.values())

    def csat_conversations(self) -> set[str]:
        store = SqlFeedbackStore(self.url)
        return {c for c in self.conversations.values() if store.for_conversation(c)}

    def contacts(self, customer_id: str) -> list[dict[str, Any]]:
        answer = requests.get(
            f"{self.sandbox_url}/crm/customers/{customer_id}/contacts", timeout=10
        )
        answer.raise_for_status()
        return [
            contact
            for contact in answer.json()["contacts"]
            if contact["conversation_id"] in self.conversations.values()
        ]


def fill(filled: Filled, label: str, customer_id: str | None, at: datetime, text: str) -> None:
    """One conversation in every store: events, a handoff, CSAT, an outcome, audit, logs."""
    conversation = f"rest:{label}-{uuid.uuid4().hex[:8]}"
    filled.conversations[label] = conversation
    stamp = at.timestamp()
    with session_scope(filled.url) as session:
        session.execute(
            events_table.insert(),
            [
                {
                    "sender_id": conversation,
                    "type_name": "user",
                    "timestamp": stamp + n,
                    "intent_name": "greet",
                    "data": json.dumps({"event": "user", "text": text}),
                }
                for n in range(3)
            ],
        )
        session.execute(
            contact_outcomes.insert().values(
                contact_id=uuid.uuid4().hex,
                conversation_id=conversation,
                started_at=stamp,
                last_event_at=stamp,
                channel="rest",
                customer_key=filled.where.customer_key(customer_id) if customer_id else None,
                customer_verified=customer_id is not None,
                tier="standard",
                engaged=True,
                outcome="escalated",
                turns=3,
                clarifying_questions=0,
                fallbacks=0,
                backend_calls=0,
                backend_failures=0,
                actions_started=0,
                actions_completed=0,
                csat_asked=True,
                csat_comment=text,
                model_id="m",
                policy_version="p",
                follow_ups_after_resolution=0,
                reopened=False,
                is_repeat=False,
                followed_by_repeat=False,
                fold_state="{}",
                version=1,
                updated_at=stamp,
            )
        )
    packet = {"handoff_id": uuid.uuid4().hex, "conversation_id": conversation, "note": text}
    entry = filled.queue.enqueue(packet)
    filled.queue.resolve(entry, "agent-1", "solved")
    SqlFeedbackStore(filled.url).save(
        CsatRecord(uuid.uuid4().hex, conversation, "rest", "greet", 4, text, at, at)
    )
    payload: dict[str, Any] = {"action": "cancel_order", "comment": text}
    if customer_id:
        payload["customer_id"] = customer_id
    filled.chain.append([NewRecord("write", payload, conversation)])
    with filled.log_file.open("a", encoding="utf-8") as log:
        log.write(f"INFO handled a message of {conversation}\n")
    if customer_id and filled.sandbox_url:
        answer = requests.post(
            f"{filled.sandbox_url}/crm/customers/{customer_id}/contacts",
            json={"channel": "rest", "conversation_id": conversation, "topic": "test"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text


@pytest.fixture
def stores(sql_url: str, tmp_path: Path, unique_name: str, sandbox: Any) -> Iterator[Filled]:
    """Stores on ``sql_url`` with a fresh queue and audit chain, a log folder, the CRM."""
    from frontline.connectors.crm import CrmClient

    engine = get_engine(sql_url)
    events_table.create(engine, checkfirst=True)
    ensure_tables(engine, [contact_outcomes])
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    queue = create({"type": "sql", "url": sql_url, "queue_name": unique_name})
    chain = AuditStore(sql_url, unique_name)
    where = Stores(
        tracker_url=sql_url,
        database_url=sql_url,
        queue=queue,
        audit_chains=[chain],
        log_dir=log_dir,
        crm=lambda: CrmClient(sandbox.url, 5.0),
        customer_key=pseudonymizer(unique_name),
    )
    filled = Filled(sql_url, where, queue, chain, log_dir / "actions.log", sandbox.url)
    # The CRM is shared by the session: start from no contacts of the test customers.
    for customer in ("C1001", "C1002", "C1003"):
        requests.delete(
            f"{sandbox.url}/crm/contacts", params={"customer_id": customer}, timeout=10
        ).raise_for_status()
    now = datetime.now(timezone.utc)
    fill(filled, "c1-first", "C1001", now, "I live at 12 Elm Street, call +1 415 555 0134")
    fill(filled, "c1-second", "C1001", now, "my card is 4111 1111 1111 1111")
    fill(filled, "other", "C1002", now, "Jane Doe, jane@example.com")
    yield filled
    queue.close()

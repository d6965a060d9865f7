"""Erasing one person's data from every store, on request.

``erase --conversation ID`` erases one conversation; ``erase --customer C1001`` first
finds the customer's conversations (the audit trail's records naming the customer, the
outcome records of the customer's pseudonym, the CRM's contact history) and erases them
all, plus whatever names the customer outside a conversation. In each store:

* tracker store: the conversations' events are deleted;
* handoff queue: the conversations' entries (packets) are deleted;
* CSAT: the conversations' answers are deleted;
* outcome records: the conversations' and the customer's records are deleted;
* audit trail: the payloads of the conversations' records and of records naming the
  customer become tombstones, and an ``erasure`` record says so (the chain verifies);
* our log files: lines naming the conversations or the customer are replaced;
* CRM contact history: the customer's (or the conversation's) contacts are deleted.

A conversation the Rasa server still holds in memory (a customer writing at this very
moment) can come back with its next message: erase conversations that have ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontline.audit.erasure import erase_records, mentions
from frontline.audit.store import AuditStore, StoredRecord
from frontline.connectors.crm import CrmClient
from frontline.errors import BackendError, QueueError
from frontline.handoff.base import HandoffQueue
from frontline.outcomes.pseudonym import load_key, pseudonymizer
from frontline.privacy import stores
from frontline.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Report:
    """What an erasure or a retention run did, store by store."""

    subject: str
    conversations: list[str] = field(default_factory=list)
    stores: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "conversations": self.conversations,
            "stores": self.stores,
            "problems": self.problems,
        }


@dataclass
class Stores:
    """Where a deployment keeps personal data (built from the settings by :func:`create`)."""

    tracker_url: str
    database_url: str
    queue: HandoffQueue
    audit_chains: list[AuditStore]
    log_dir: Path
    crm: Callable[[], CrmClient] | None = None
    customer_key: Callable[[str], str] | None = None

    @classmethod
    def create(cls, settings: Settings, queue: HandoffQueue) -> Stores:
        """Every store of the deployment ``settings`` describe (every audit chain)."""
        audit = AuditStore(settings.database_url, settings.audit_chain)
        chains = [AuditStore(settings.database_url, name) for name in audit.chains()]
        pseudonymize = pseudonymizer(load_key(settings.pseudonym_key))
        return cls(
            tracker_url=settings.tracker_store_url,
            database_url=settings.database_url,
            queue=queue,
            audit_chains=chains or [audit],
            log_dir=settings.log_dir,
            crm=lambda: CrmClient(settings.sandbox_url, settings.http_timeout),
            customer_key=lambda customer_id: pseudonymize(f"customer:{customer_id}"),
        )


def erase_customer(where: Stores, customer_id: str) -> Report:
    """Erases a customer's conversations and every record naming the customer."""
    report = Report(f"customer {customer_id}")
    key = where.customer_key(customer_id) if where.customer_key else None
    conversations: set[str] = set()
    for chain in where.audit_chains:
        conversations.update(
            record.conversation_id
            for record in chain.iter_records()
            if record.conversation_id and mentions(record.payload, {customer_id})
        )
    if key:
        conversations.update(stores.outcome_conversations(where.database_url, key))
    contacts = _crm(report, where, "list", customer_id=customer_id)
    conversations.update(str(c["conversation_id"]) for c in contacts if c.get("conversation_id"))
    report.conversations = sorted(conversations)

    def named(record: StoredRecord) -> bool:
        return record.conversation_id in conversations or mentions(record.payload, {customer_id})

    _erase(report, where, conversations, named, customer_id, key, subject=customer_id)
    deleted = _crm(report, where, "erase", customer_id=customer_id)
    report.stores["contact_history"] = deleted if isinstance(deleted, int) else 0
    return report


def erase_conversation(where: Stores, conversation_id: str) -> Report:
    """Erases one conversation from every store."""
    report = Report(f"conversation {conversation_id}", [conversation_id])

    def named(record: StoredRecord) -> bool:
        return record.conversation_id == conversation_id

    _erase(report, where, {conversation_id}, named, None, None, subject=conversation_id)
    deleted = _crm(report, where, "erase", conversation_id=conversation_id)
    report.stores["contact_history"] = deleted if isinstance(deleted, int) else 0
    return report


def _erase(
    report: Report,
    where: Stores,
    conversations: set[str],
    named: Callable[[StoredRecord], bool],
    customer_id: str | None,
    customer_key: str | None,
    *,
    subject: str,
) -> None:
    ids = sorted(conversations)
    report.stores["tracker"] = stores.erase_tracker(where.tracker_url, ids)
    queued = 0
    for conversation_id in ids:
        try:
            queued += where.queue.erase_conversation(conversation_id)
        except QueueError as exc:
            report.problems.append(f"handoff queue: {exc}")
    report.stores["handoff_queue"] = queued
    report.stores["csat"] = stores.erase_csat(where.database_url, ids)
    report.stores["outcomes"] = stores.erase_outcomes(where.database_url, ids, customer_key)
    report.stores["audit"] = sum(
        len(erase_records(chain, named, reason="erasure request", subject=subject))
        for chain in where.audit_chains
    )
    values = [*ids, *([customer_id] if customer_id else [])]
    report.stores["logs"] = stores.erase_logs(where.log_dir, values)
    logger.info("Erased %s: %s", report.subject, report.stores)


def _crm(report: Report, where: Stores, what: str, **ids: str) -> Any:
    """Lists or erases CRM contacts; a CRM that is down is a problem in the report."""
    open_crm = where.crm
    if open_crm is None:
        return [] if what == "list" else 0

    async def call() -> Any:
        client = open_crm()
        try:
            if what == "list":
                return await client.list_contacts(ids["customer_id"], limit=100)
            return await client.erase_contacts(**ids)
        finally:
            await client.close()

    try:
        return asyncio.run(call())
    except BackendError as exc:
        report.problems.append(f"CRM contact history: {exc}")
        return [] if what == "list" else 0

"""A customer's contacts across channels: recorded on verification, shown to agents.

A *contact* is one conversation session in which the assistant verified who the
customer is, on whichever channel it happened (web chat, Slack, REST). The CRM keeps
them, so the context packet can show an agent the customer's recent contacts on
every channel, not just the conversation being handed over.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from frontline.connectors import CrmClient
from frontline.errors import BackendError

logger = logging.getLogger(__name__)

#: What a conversation was about, by the form in which the customer was verified.
FORM_TOPICS = {
    "order_status_form": "order status",
    "cancel_order_form": "order cancellation",
}
UNKNOWN_CHANNEL = "unknown"
RECENT_CONTACTS = 5

_CHANNEL_CHARS_RE = re.compile(r"[^a-z0-9_.-]+")


@dataclass(frozen=True)
class ContactContext:
    """Where and when a conversation takes place.

    Attributes:
        channel: Rasa's name of the input channel (``socketio``, ``slack``, ``rest``).
        conversation_id: Rasa's sender id of the conversation.
        session_started_at: Rasa timestamp (seconds since the epoch) of the start of
            the conversation session; the contact is recorded once per session.
        topic: What the conversation is about, in a few words.
    """

    channel: str | None
    conversation_id: str
    session_started_at: float | None = None
    topic: str | None = None


def channel_name(channel: str | None) -> str:
    """The channel's name as the CRM stores it: lower case, at most 32 characters."""
    name = _CHANNEL_CHARS_RE.sub("-", (channel or "").strip().lower()).strip("-")[:32]
    return name if name[:1].isalpha() else UNKNOWN_CHANNEL


def topic_of_form(form_name: str | None) -> str | None:
    """``cancel_order_form`` -> ``order cancellation``."""
    if not form_name:
        return None
    return FORM_TOPICS.get(form_name, form_name.removesuffix("_form").replace("_", " "))


def session_started_at(events: Iterable[Mapping[str, Any]]) -> float | None:
    """Timestamp of the latest ``session_started`` event (else of the first event)."""
    first: float | None = None
    started: float | None = None
    for event in events:
        timestamp = event.get("timestamp")
        if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
            continue
        if first is None:
            first = float(timestamp)
        if event.get("event") == "session_started":
            started = float(timestamp)
    return started if started is not None else first


def contact_key(customer_id: str, context: ContactContext) -> str:
    """The idempotency key of one contact: one per customer and conversation session.

    Everything that goes into the request is part of the key, so a retry sends the
    same key with the same body and the CRM records the contact once.
    """
    parts = [
        customer_id,
        channel_name(context.channel),
        context.conversation_id,
        "none" if context.session_started_at is None else f"{context.session_started_at:.6f}",
        context.topic or "",
    ]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"contact-{digest[:32]}"


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def record_contact(
    crm: CrmClient, customer_id: str, context: ContactContext
) -> dict[str, Any] | None:
    """Adds this conversation to the customer's contact history in the CRM.

    Best effort: a CRM that cannot answer costs the agent one line of history, not
    the customer their conversation, so a failure is logged and None returned.
    """
    try:
        return await crm.record_contact(
            customer_id,
            channel=channel_name(context.channel),
            conversation_id=context.conversation_id[:255],
            topic=context.topic[:100] if context.topic else None,
            started_at=_iso(context.session_started_at),
            idempotency_key=contact_key(customer_id, context),
        )
    except BackendError as exc:
        logger.warning("Could not record the contact of customer %s: %s", customer_id, exc)
        return None


async def recent_contacts(
    crm: CrmClient, customer_id: str, limit: int = RECENT_CONTACTS
) -> list[dict[str, Any]]:
    """The customer's latest contacts on every channel, newest first (empty on failure)."""
    try:
        return (await crm.list_contacts(customer_id, limit))[:limit]
    except BackendError as exc:
        logger.warning("Could not list the contacts of customer %s: %s", customer_id, exc)
        return []

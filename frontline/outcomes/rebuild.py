"""The outcome records again, from the events Rasa stored (its SQL tracker store).

For when the writer could not keep up (events dropped on a full queue), was switched off,
or a definition in ``policies/outcomes.yml`` changed. Conversations are read one at a
time from Rasa's ``events`` table (in order), their records deleted and folded again
(contact ids hash the conversation id and the session start, so a rebuilt record has
the same id); people's verdicts ("could have handled") are kept. The fold is the
writer's own (:class:`~frontline.outcomes.processor.OutcomeProcessor`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from frontline.db import get_engine
from frontline.outcomes.processor import OutcomeProcessor
from frontline.privacy.encryption import EventCipher, UnreadableEvent, tracker_cipher
from frontline.settings import get_settings

logger = logging.getLogger(__name__)


def stored_conversations(
    tracker_store_url: str, since: float | None = None, cipher: EventCipher | None = None
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Each conversation's events (``sender_id`` added), in the order Rasa stored them.

    With ``since``, only conversations with an event since then (all their events).
    Events encrypted at rest are opened with ``cipher`` (default: the configured keys).
    """
    cipher = cipher or tracker_cipher(get_settings())
    engine = get_engine(tracker_store_url)
    events = sa.Table("events", sa.MetaData(), autoload_with=engine)
    query = sa.select(events.c.sender_id, events.c.data).order_by(events.c.sender_id, events.c.id)
    if since is not None:
        recent = sa.select(events.c.sender_id).where(events.c.timestamp >= since).distinct()
        query = query.where(events.c.sender_id.in_(recent.scalar_subquery()))
    current: str | None = None
    batch: list[dict[str, Any]] = []
    with engine.connect() as connection:
        for sender, data in connection.execution_options(stream_results=True).execute(query):
            if sender != current and batch:
                yield str(current), batch
                batch = []
            current = sender
            try:
                event = json.loads(cipher.open(data))
            except (TypeError, ValueError, UnreadableEvent):
                logger.warning("Skipped an unreadable event of conversation %s", sender)
                continue
            batch.append({**event, "sender_id": sender})
    if batch:
        yield str(current), batch


def rebuild(processor: OutcomeProcessor, tracker_store_url: str, since: float | None = None) -> int:
    """Rebuilds the records of the stored conversations; returns how many conversations."""
    count = 0
    for conversation_id, events in stored_conversations(tracker_store_url, since):
        verdicts = processor.store.forget_conversations([conversation_id])
        processor.process(events)
        processor.store.restore_verdicts(verdicts)
        count += 1
    processor.housekeeping(force=True)
    return count

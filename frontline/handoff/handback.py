"""Giving a conversation back to the assistant once a person has resolved its handoff.

Resuming appends ``resume`` and ``action_listen`` through Rasa's HTTP API, so the
assistant answers the customer's next message; a hand-back also sends the domain's
``utter_handed_back`` (a variation for the customer's channel, slots filled). A
conversation with a newer open handoff stays with a person, and one that runs already
is left alone, so giving back twice resumes once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Mapping
from typing import Any

from frontline.connectors.rasa import RasaClient
from frontline.handoff.base import HandoffQueue, run_blocking
from frontline.handoff.entry import RESOLVED, QueueEntry

logger = logging.getLogger(__name__)

#: The response telling the customer they are back with the assistant.
HANDBACK_RESPONSE = "utter_handed_back"
#: Seconds the domain's responses are reused before being fetched again.
DOMAIN_CACHE_SECONDS = 300.0

_PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")


class HandBack:
    """Gives conversations back to the assistant.

    Args:
        queue: The handoff queue (to find newer handoffs of the conversation).
        rasa: The Rasa HTTP API client.
    """

    def __init__(self, queue: HandoffQueue, rasa: RasaClient) -> None:
        self.queue = queue
        self.rasa = rasa
        self._responses: dict[str, Any] | None = None
        self._responses_at = 0.0
        self._responses_lock = asyncio.Lock()

    async def give_back(self, entry: QueueEntry, *, hand_back: bool) -> None:
        """Resumes the conversation unless it already runs or a newer handoff is open.

        Args:
            entry: The entry just resolved.
            hand_back: Also tell the customer, with :data:`HANDBACK_RESPONSE`.

        Raises:
            BackendError: Rasa did not answer (retrying is safe: a running conversation
                is left alone).
        """
        entries = await run_blocking(self.queue.find_by_conversation, entry.conversation_id)
        newer_open = [
            other
            for other in entries
            if other.enqueued_at > entry.enqueued_at and other.status != RESOLVED
        ]
        if newer_open:
            logger.info(
                "Conversation %s stays with a human: handoff %s is open",
                entry.conversation_id,
                newer_open[-1].entry_id,
            )
            return
        tracker = await self.rasa.tracker(entry.conversation_id)
        if not tracker.get("paused"):
            logger.info("Conversation %s already runs with the assistant", entry.conversation_id)
            return
        events: list[dict[str, Any]] = [{"event": "resume", "timestamp": time.time()}]
        if hand_back:
            text = await self._handback_text(tracker)
            if text:
                events.append(
                    {
                        "event": "bot",
                        "text": text,
                        "timestamp": time.time(),
                        "metadata": {
                            "template_name": HANDBACK_RESPONSE,
                            "handoff_entry": entry.entry_id,
                        },
                    }
                )
        # The assistant listens again, as after any turn of its own.
        events.append({"event": "action", "name": "action_listen", "timestamp": time.time()})
        await self.rasa.append_events(entry.conversation_id, events)
        logger.info(
            "Conversation %s is back with the assistant (%s)",
            entry.conversation_id,
            "handed back" if hand_back else "resolved",
        )

    async def _handback_text(self, tracker: Mapping[str, Any]) -> str | None:
        """A variation of ``utter_handed_back`` for the customer's channel, slots filled."""
        responses = await self._domain_responses()
        channel = tracker.get("latest_input_channel")
        variations = [
            variation
            for variation in responses.get(HANDBACK_RESPONSE) or []
            if isinstance(variation, Mapping)
            and variation.get("text")
            and variation.get("channel") in (None, channel)
        ]
        if not variations:
            logger.error(
                "The served model's domain has no %s; the customer is not told", HANDBACK_RESPONSE
            )
            return None
        text = str(random.choice(variations)["text"])
        slots = tracker.get("slots") or {}

        def fill(match: re.Match[str]) -> str:
            value = slots.get(match.group(1))
            return match.group(0) if value is None else str(value)

        return _PLACEHOLDER_RE.sub(fill, text)

    async def _domain_responses(self) -> dict[str, Any]:
        async with self._responses_lock:
            fresh = time.monotonic() - self._responses_at < DOMAIN_CACHE_SECONDS
            if self._responses is None or not fresh:
                domain = await self.rasa.domain()
                responses = domain.get("responses")
                self._responses = responses if isinstance(responses, dict) else {}
                self._responses_at = time.monotonic()
            return self._responses

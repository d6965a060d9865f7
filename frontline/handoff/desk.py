"""What a human agent does with a handed-off conversation, without any HTTP.

The agent desk (``desk/``) is a thin web layer over :class:`DeskService`:

* the queue as an agent or a supervisor sees it, and the agent's heartbeat, which
  renews the leases on what the agent holds;
* one conversation laid out for a person in a hurry: the context packet plus the live
  transcript from Rasa, including what the customer wrote while waiting;
* claim, release, reassign (supervisors), reply, resolve and hand back.

A reply is a ``bot`` event appended through Rasa's HTTP API; it reaches the customer
on their channel when the channel can send outside a request (socket.io, Slack), and
REST clients find it in the tracker. Resolving gives the conversation back to the
assistant (``ConversationResumed``, :mod:`frontline.handoff.handback`), so the
customer's next message gets an answer; a hand-back also tells the customer, with the
domain's ``utter_handed_back``. Who may do what follows the transition table
(:mod:`frontline.handoff.transitions`); what the desk shows of an entry is
:mod:`frontline.handoff.desk_views`.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from frontline.connectors.rasa import RasaClient
from frontline.errors import BackendError, FrontlineError
from frontline.handoff.base import HandoffQueue, run_blocking
from frontline.handoff.desk_views import entry_card, entry_detail, packet_transcript, transcript
from frontline.handoff.entry import (
    CLAIMED,
    PENDING,
    EntryNotFound,
    NotOwner,
    QueueEntry,
    utcnow,
)
from frontline.handoff.handback import HandBack
from frontline.handoff.transitions import (
    AGENT,
    REASSIGN,
    RESOLVE,
    SUPERVISOR,
    transition_error,
)

logger = logging.getLogger(__name__)

#: Codes an agent closes a conversation with; they feed the metrics.
RESOLUTION_CODES = (
    "resolved",
    "refund_issued",
    "order_updated",
    "information_given",
    "escalated_elsewhere",
    "customer_unreachable",
    "duplicate",
    "handed_back",
)
MAX_REPLY_LENGTH = 2000


class DeskError(FrontlineError):
    """An agent's request cannot be carried out."""


class NotAllowed(DeskError):
    """The agent's role or ownership does not allow this."""


class HandBackFailed(DeskError):
    """The entry is resolved, but Rasa did not take the conversation back.

    Retrying the resolution is safe: the queue returns the resolved entry and the
    conversation is resumed once, however often it is retried.
    """

    def __init__(self, entry: QueueEntry, cause: str) -> None:
        super().__init__(
            f"handoff {entry.entry_id} is resolved, but conversation {entry.conversation_id} "
            f"could not be handed back to the assistant: {cause}"
        )
        self.entry = entry


@dataclass(frozen=True)
class Actor:
    """The signed-in agent making a request.

    Attributes:
        agent_id: The agent's id on the queue (their sign-in name).
        role: ``agent`` or ``supervisor``.
        display_name: The name customers see, if the agent has one.
    """

    agent_id: str
    role: str = AGENT
    display_name: str | None = None

    @property
    def is_supervisor(self) -> bool:
        return self.role == SUPERVISOR


class DeskService:
    """The agent desk's operations on the queue and on Rasa conversations.

    Args:
        queue: The handoff queue (its blocking calls run in the default executor).
        rasa: The Rasa HTTP API client.
        clock: The current time (tests may pass their own).
    """

    def __init__(
        self,
        queue: HandoffQueue,
        rasa: RasaClient,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.queue = queue
        self.rasa = rasa
        self._clock = clock
        self._hand_back = HandBack(queue, rasa)

    # -- the queue -------------------------------------------------------------------

    async def queue_view(self, actor: Actor) -> dict[str, Any]:
        """The queue for ``actor``: pending entries, their own, and (supervisors) all claimed.

        Entries whose owner went silent come back once :meth:`deliver` has run (the desk
        runs it in the background, several times per lease).
        """
        pending = await run_blocking(self.queue.pending, 200)
        mine = await run_blocking(self.queue.held_by, actor.agent_id)
        now = self._clock()
        view: dict[str, Any] = {
            "pending": [entry_card(entry, now) for entry in pending],
            "mine": [entry_card(entry, now) for entry in mine],
            "lease_seconds": self.queue.lease_seconds,
        }
        if actor.is_supervisor:
            open_entries = await run_blocking(self.queue.open_entries, 500)
            view["claimed"] = [
                entry_card(entry, now) for entry in open_entries if entry.status == CLAIMED
            ]
        return view

    async def heartbeat(self, actor: Actor) -> list[QueueEntry]:
        """Renews the leases of everything ``actor`` holds; returns what they still hold."""
        return await run_blocking(self.queue.renew, actor.agent_id)

    async def deliver(self) -> None:
        """Offers new entries and re-offers those whose owner went silent (background)."""
        await run_blocking(self.queue.deliver)

    # -- one conversation ------------------------------------------------------------

    async def entry_view(self, actor: Actor, entry_id: str) -> dict[str, Any]:
        """The packet, the live transcript and the timings of one entry.

        Raises:
            EntryNotFound: No such entry.
            NotAllowed: An agent asked for an entry another agent owns or resolved.
        """
        entry = await self._visible_entry(actor, entry_id)
        view = entry_detail(entry, self._clock())
        try:
            tracker = await self.rasa.tracker(entry.conversation_id)
        except BackendError as exc:
            logger.warning("Transcript of %s unavailable: %s", entry.conversation_id, exc)
            view["transcript"] = packet_transcript(entry.packet)
            view["transcript_source"] = "packet"
            view["conversation"] = {"paused": None, "error": "Rasa did not answer"}
            return view
        view["transcript"] = transcript(tracker)
        view["transcript_source"] = "tracker"
        view["conversation"] = {
            "paused": bool(tracker.get("paused")),
            "channel": tracker.get("latest_input_channel"),
        }
        return view

    async def claim(self, actor: Actor, entry_id: str) -> QueueEntry:
        """Makes ``actor`` the owner (see :meth:`HandoffQueue.claim`)."""
        return await run_blocking(self.queue.claim, entry_id, actor.agent_id)

    async def release(self, actor: Actor, entry_id: str) -> QueueEntry:
        """Gives an entry ``actor`` owns back to the queue."""
        return await run_blocking(self.queue.release, entry_id, actor.agent_id)

    async def reassign(self, actor: Actor, entry_id: str, agent_id: str) -> QueueEntry:
        """Gives an open entry to ``agent_id`` (supervisors only).

        Raises:
            NotAllowed: ``actor`` is not a supervisor.
        """
        if actor.role not in REASSIGN.roles:
            raise NotAllowed("only supervisors reassign conversations")
        entry = await run_blocking(self.queue.reassign, entry_id, agent_id)
        logger.info("Supervisor %s gave %s to %s", actor.agent_id, entry_id, agent_id)
        return entry

    async def reply(self, actor: Actor, entry_id: str, text: object) -> dict[str, Any]:
        """Sends the agent's message to the customer; returns the ``bot`` event.

        Raises:
            ValueError: The text is empty, too long or holds control characters.
            NotOwner, AlreadyClaimed, AlreadyResolved: ``actor`` does not own the entry.
            BackendError: Rasa did not take the message.
        """
        text = clean_reply(text)
        entry = await self._owned_entry(actor, entry_id)
        # Channels mark messages with ``frontline_agent`` as a person's and show
        # ``agent_name`` (or "Support team"), never the agent's sign-in name.
        metadata = {"frontline_agent": actor.agent_id, "handoff_entry": entry.entry_id}
        if actor.display_name:
            metadata["agent_name"] = actor.display_name
        event = {"event": "bot", "text": text, "timestamp": time.time(), "metadata": metadata}
        await self.rasa.append_events(entry.conversation_id, [event])
        logger.info("Agent %s replied in conversation %s", actor.agent_id, entry.conversation_id)
        return event

    async def resolve(
        self, actor: Actor, entry_id: str, resolution_code: str, *, hand_back: bool
    ) -> QueueEntry:
        """Resolves the entry and gives the conversation back to the assistant.

        The conversation is resumed whether or not the agent hands back explicitly:
        nobody watches it after the resolution, so the assistant must answer the
        customer's next message. ``hand_back`` also tells the customer.

        Raises:
            ValueError: Unknown resolution code.
            AlreadyClaimed, AlreadyResolved, EntryNotFound: see :meth:`HandoffQueue.resolve`.
            NotAllowed: An agent tried to resolve an entry they do not own.
            HandBackFailed: Resolved, but Rasa did not resume the conversation (retry).
        """
        if resolution_code not in RESOLUTION_CODES:
            raise ValueError(f"unknown resolution code {resolution_code!r}")
        entry = await run_blocking(self.queue.get, entry_id)
        if entry is None:
            raise EntryNotFound(entry_id)
        if actor.role not in RESOLVE.roles_allowed(entry.status):
            raise NotOwner(entry_id, actor.agent_id)  # claim it first
        resolved = await run_blocking(self.queue.resolve, entry_id, actor.agent_id, resolution_code)
        try:
            await self._hand_back.give_back(resolved, hand_back=hand_back)
        except BackendError as exc:
            raise HandBackFailed(resolved, str(exc)) from exc
        return resolved

    # -- helpers ---------------------------------------------------------------------

    async def _visible_entry(self, actor: Actor, entry_id: str) -> QueueEntry:
        entry = await run_blocking(self.queue.get, entry_id)
        if entry is None:
            raise EntryNotFound(entry_id)
        if actor.is_supervisor or entry.status == PENDING or entry.claimed_by == actor.agent_id:
            return entry
        raise NotAllowed(f"handoff {entry_id} belongs to another agent")

    async def _owned_entry(self, actor: Actor, entry_id: str) -> QueueEntry:
        entry = await run_blocking(self.queue.get, entry_id)
        if entry is not None and entry.status == CLAIMED and entry.claimed_by == actor.agent_id:
            return entry
        raise transition_error(entry, entry_id, actor.agent_id)


def clean_reply(text: Any) -> str:
    """Checks and tidies an agent's reply.

    Raises:
        ValueError: Not a string, empty, longer than :data:`MAX_REPLY_LENGTH`, or holding
            control characters other than line breaks and tabs.
    """
    if not isinstance(text, str):
        raise ValueError("the reply must be text")
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ValueError("the reply is empty")
    if len(text) > MAX_REPLY_LENGTH:
        raise ValueError(f"the reply is longer than {MAX_REPLY_LENGTH} characters")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise ValueError("the reply holds control characters")
    return text

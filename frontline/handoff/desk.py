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
assistant (``ConversationResumed``), so the customer's next message gets an answer;
a hand-back also tells the customer, with the domain's ``utter_handed_back``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from frontline.channels import ids
from frontline.connectors.rasa import RasaClient
from frontline.errors import BackendError, FrontlineError
from frontline.handoff.base import (
    CLAIMED,
    PENDING,
    RESOLVED,
    AlreadyClaimed,
    AlreadyResolved,
    EntryNotFound,
    HandoffQueue,
    NotOwner,
    QueueEntry,
    utcnow,
)
from frontline.masking import mask_email, mask_text
from frontline.patterns import CARD_IN_TEXT_RE, EMAIL_IN_TEXT_RE

logger = logging.getLogger(__name__)

T = TypeVar("T")

AGENT = "agent"
SUPERVISOR = "supervisor"
ROLES = (AGENT, SUPERVISOR)

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
#: The response telling the customer they are back with the assistant.
HANDBACK_RESPONSE = "utter_handed_back"
MAX_REPLY_LENGTH = 2000
MAX_TRANSCRIPT_TURNS = 200
SUMMARY_PREVIEW_LENGTH = 180
#: Seconds the domain's responses are reused before being fetched again.
DOMAIN_CACHE_SECONDS = 300.0

_PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")


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
        self._responses: dict[str, Any] | None = None
        self._responses_at = 0.0
        self._responses_lock = asyncio.Lock()

    # -- the queue -------------------------------------------------------------------

    async def queue_view(self, actor: Actor) -> dict[str, Any]:
        """The queue for ``actor``: pending entries, their own, and (supervisors) all claimed.

        Entries whose owner went silent come back once :meth:`deliver` has run (the desk
        runs it in the background, several times per lease).
        """
        pending = await self._run(self.queue.pending, 200)
        mine = await self._run(self.queue.held_by, actor.agent_id)
        now = self._clock()
        view: dict[str, Any] = {
            "pending": [entry_card(entry, now) for entry in pending],
            "mine": [entry_card(entry, now) for entry in mine],
            "lease_seconds": self.queue.lease_seconds,
        }
        if actor.is_supervisor:
            open_entries = await self._run(self.queue.open_entries, 500)
            view["claimed"] = [
                entry_card(entry, now) for entry in open_entries if entry.status == CLAIMED
            ]
        return view

    async def heartbeat(self, actor: Actor) -> list[QueueEntry]:
        """Renews the leases of everything ``actor`` holds; returns what they still hold."""
        return await self._run(self.queue.renew, actor.agent_id)

    async def deliver(self) -> None:
        """Offers new entries and re-offers those whose owner went silent (background)."""
        await self._run(self.queue.deliver)

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
        return await self._run(self.queue.claim, entry_id, actor.agent_id)

    async def release(self, actor: Actor, entry_id: str) -> QueueEntry:
        """Gives an entry ``actor`` owns back to the queue."""
        return await self._run(self.queue.release, entry_id, actor.agent_id)

    async def reassign(self, actor: Actor, entry_id: str, agent_id: str) -> QueueEntry:
        """Gives an open entry to ``agent_id`` (supervisors only).

        Raises:
            NotAllowed: ``actor`` is not a supervisor.
        """
        if not actor.is_supervisor:
            raise NotAllowed("only supervisors reassign conversations")
        entry = await self._run(self.queue.reassign, entry_id, agent_id)
        logger.info("Supervisor %s gave %s to %s", actor.agent_id, entry_id, agent_id)
        return entry

    async def reply(self, actor: Actor, entry_id: str, text: str) -> dict[str, Any]:
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
        entry = await self._run(self.queue.get, entry_id)
        if entry is None:
            raise EntryNotFound(entry_id)
        if entry.status == PENDING and not actor.is_supervisor:
            raise NotOwner(entry_id, actor.agent_id)  # claim it first
        resolved = await self._run(self.queue.resolve, entry_id, actor.agent_id, resolution_code)
        try:
            await self._give_back(resolved, hand_back=hand_back)
        except BackendError as exc:
            raise HandBackFailed(resolved, str(exc)) from exc
        return resolved

    # -- helpers ---------------------------------------------------------------------

    async def _give_back(self, entry: QueueEntry, *, hand_back: bool) -> None:
        """Resumes the conversation unless it already runs or a newer handoff is open."""
        entries = await self._run(self.queue.find_by_conversation, entry.conversation_id)
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

    async def _visible_entry(self, actor: Actor, entry_id: str) -> QueueEntry:
        entry = await self._run(self.queue.get, entry_id)
        if entry is None:
            raise EntryNotFound(entry_id)
        if actor.is_supervisor or entry.status == PENDING or entry.claimed_by == actor.agent_id:
            return entry
        raise NotAllowed(f"handoff {entry_id} belongs to another agent")

    async def _owned_entry(self, actor: Actor, entry_id: str) -> QueueEntry:
        entry = await self._run(self.queue.get, entry_id)
        if entry is None:
            raise EntryNotFound(entry_id)
        if entry.status == CLAIMED and entry.claimed_by == actor.agent_id:
            return entry
        if entry.status == CLAIMED:
            raise AlreadyClaimed(entry_id, entry.claimed_by)
        if entry.status == RESOLVED:
            raise AlreadyResolved(entry_id, entry.resolution_code)
        raise NotOwner(entry_id, actor.agent_id)

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        """Runs a blocking queue call in the default executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, function, *args)


# -- views ---------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def entry_card(entry: QueueEntry, now: datetime) -> dict[str, Any]:
    """An entry as one line of the queue: enough to pick what to work on next."""
    packet = entry.packet
    customer = packet.get("customer") if isinstance(packet.get("customer"), Mapping) else {}
    reason = packet.get("reason") if isinstance(packet.get("reason"), Mapping) else {}
    summary = str(packet.get("summary") or "")
    conversation = ids.split(entry.conversation_id)
    if len(summary) > SUMMARY_PREVIEW_LENGTH:
        summary = summary[: SUMMARY_PREVIEW_LENGTH - 1].rstrip() + "…"
    return {
        "entry_id": entry.entry_id,
        "conversation_id": entry.conversation_id,
        # The id the customer's channel knows the conversation by (``rest:jane`` → jane).
        "channel_conversation_id": conversation.channel_id,
        "status": entry.status,
        "priority": entry.priority,
        "channel": packet.get("channel") or conversation.channel,
        "reason": reason.get("code"),
        "summary": summary,
        "customer": {
            "verified": bool(customer.get("verified")),
            "name": customer.get("name"),
            "tier": customer.get("tier"),
        },
        "enqueued_at": _iso(entry.enqueued_at),
        "waited_seconds": round(entry.waited_so_far(now), 1),
        "claimed_by": entry.claimed_by,
        "lease_expires_at": _iso(entry.lease_expires_at),
        "reoffers": entry.reoffers,
    }


def entry_detail(entry: QueueEntry, now: datetime) -> dict[str, Any]:
    """An entry with its whole packet, its state and its timings."""
    return {
        **entry_card(entry, now),
        "packet": entry.packet,
        "claimed_at": _iso(entry.claimed_at),
        "first_claimed_at": _iso(entry.first_claimed_at),
        "resolved_at": _iso(entry.resolved_at),
        "resolution_code": entry.resolution_code,
        "claims": entry.claims,
        "timings": timings(entry),
    }


def timings(entry: QueueEntry) -> dict[str, float | None]:
    """Waiting (enqueued to first claim) and handling (first claim to resolution) times."""
    return {
        "waiting_seconds": _round(entry.waiting_seconds),
        "handling_seconds": _round(entry.handling_seconds),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def transcript(tracker: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The conversation's messages from a tracker, oldest first, personal data masked.

    What the customer wrote is masked like the packet's turns (e-mail addresses, phone
    and card numbers); the assistant's and agents' messages only for e-mail addresses
    and card numbers, so references such as tracking numbers stay readable.
    Each turn says who spoke (``customer``, ``assistant`` or ``agent``, with the agent's
    id) and whether the customer wrote it while the conversation was paused, waiting
    for a human.
    """
    turns: list[dict[str, Any]] = []
    paused = False
    for event in tracker.get("events") or []:
        if not isinstance(event, Mapping):
            continue
        kind = event.get("event")
        if kind == "pause":
            paused = True
        elif kind in ("resume", "restart", "session_started"):
            paused = False
        if kind not in ("user", "bot"):
            continue
        text = event.get("text")
        if not isinstance(text, str) or not text.strip():
            continue
        metadata = event.get("metadata") if isinstance(event.get("metadata"), Mapping) else {}
        agent = metadata.get("frontline_agent") if kind == "bot" else None
        speaker = "customer" if kind == "user" else ("agent" if agent else "assistant")
        turn: dict[str, Any] = {
            "speaker": speaker,
            "text": (mask_text(text) if kind == "user" else _mask_our_text(text)) or "",
            "timestamp": _event_time(event.get("timestamp")),
        }
        if agent:
            turn["agent"] = str(agent)
        if kind == "user" and paused:
            turn["while_waiting"] = True
        turns.append(turn)
    return turns[-MAX_TRANSCRIPT_TURNS:]


def _mask_our_text(text: str) -> str:
    text = EMAIL_IN_TEXT_RE.sub(lambda match: mask_email(match.group(0)) or "", text)
    return CARD_IN_TEXT_RE.sub(lambda match: f"**** {match.group(1)}", text)


def packet_transcript(packet: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The packet's last turns, when Rasa cannot give the live transcript."""
    turns = packet.get("last_turns") or []
    return [
        {"speaker": t.get("speaker"), "text": t.get("text"), "timestamp": t.get("timestamp")}
        for t in turns
        if isinstance(t, Mapping)
    ]


def _event_time(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return datetime.fromtimestamp(value, timezone.utc).isoformat()


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

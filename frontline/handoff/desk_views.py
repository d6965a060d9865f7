"""What the agent desk shows of a handoff: queue cards, the entry in full, the transcript.

Plain functions over a :class:`~frontline.handoff.entry.QueueEntry` and a Rasa tracker,
without HTTP or the queue: the desk's view of a packet. Personal data the packet
holds is masked already; the live transcript is masked here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from frontline.channels import ids
from frontline.handoff.entry import QueueEntry
from frontline.json_fields import object_at
from frontline.masking import mask_email, mask_text
from frontline.patterns import CARD_IN_TEXT_RE, EMAIL_IN_TEXT_RE

MAX_TRANSCRIPT_TURNS = 200
SUMMARY_PREVIEW_LENGTH = 180


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def entry_card(entry: QueueEntry, now: datetime) -> dict[str, Any]:
    """An entry as one line of the queue: enough to pick what to work on next."""
    packet = entry.packet
    customer = object_at(packet, "customer")
    reason = object_at(packet, "reason")
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
        metadata = object_at(event, "metadata")
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

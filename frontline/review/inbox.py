"""The review inbox: which messages need a person, grouped and ranked by impact.

A message enters the inbox with at least one *signal*:

* from what the assistant did with it (its decision records): ``low_confidence``,
  ``clarification`` ("Did you mean …?"), ``rephrase``, ``fallback``;
* from its contact's outcome record: ``poor_rating`` (CSAT at most the policy's),
  ``repeat_contact`` (the customer came back about it), ``escalation_flagged`` (a person
  said the assistant could have handled it); the contact's first request carries them;
* from an agent's flag on the assistant's answer to it: ``agent_flag``.

A message's *severity* is the sum of its signals' weights (``policies/review.yml``).
Messages with the same predicted intent whose word sets overlap enough form a group; a
group's *impact* is the sum of its messages' severities (how often x how bad), and the
inbox lists groups by impact. Labelled messages leave the inbox.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from frontline.nlu.clarification_policy import CLARIFY_INTENT, FALLBACK_INTENT
from frontline.outcomes.model import OutcomeRecord
from frontline.review.policy import ReviewPolicy
from frontline.review.sources import Message
from frontline.review.store import Flag, Verdict

UNRECOGNISED = "unrecognised"
#: A contact's messages may be stamped this much outside its record's times.
TURN_SLACK_SECONDS = 1.0
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")


def words(text: str) -> frozenset[str]:
    """The words of a text, lower case; every number is the same word (``#``)."""
    return frozenset("#" if w.isdigit() else w for w in _WORD.findall(text.lower()))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Overlap of two word sets (1 when both are empty)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass
class Item:
    """A message in the inbox, with its signals."""

    message: Message
    signals: Counter[str] = field(default_factory=Counter)
    flags: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    severity: float = 0.0

    def card(self) -> dict[str, Any]:
        return self.message.card() | {
            "signals": dict(self.signals),
            "flags": self.flags,
            "verdicts": self.verdicts,
            "severity": round(self.severity, 3),
        }


@dataclass
class Group:
    """Similar messages of one predicted intent."""

    group_id: str
    intent: str
    items: list[Item]

    @property
    def impact(self) -> float:
        return sum(item.severity for item in self.items)

    def card(self, max_items: int) -> dict[str, Any]:
        signals: Counter[str] = Counter()
        for item in self.items:
            signals.update(item.signals)
        count = len(self.items)
        return {
            "group_id": self.group_id,
            "intent": self.intent,
            "count": count,
            "severity": round(self.impact / count, 3) if count else 0.0,
            "impact": round(self.impact, 3),
            "signals": dict(signals),
            "items": [item.card() for item in self.items[:max_items]],
            "keys": [item.message.key for item in self.items],
        }


def own_signals(message: Message, policy: ReviewPolicy) -> Counter[str]:
    """The signals of what the assistant did with a message."""
    signals: Counter[str] = Counter()
    actions = set(message.actions)
    if message.confidence is None or message.confidence < policy.low_confidence_below:
        signals["low_confidence"] += 1
    if message.set_intent == CLARIFY_INTENT or actions & policy.names("clarifying_actions"):
        signals["clarification"] += 1
    if actions & policy.names("rephrase_actions"):
        signals["rephrase"] += 1
    if message.set_intent == FALLBACK_INTENT or actions & policy.names("fallback_actions"):
        signals["fallback"] += 1
    return signals


def contact_signals(record: OutcomeRecord, policy: ReviewPolicy) -> list[str]:
    """The signals an outcome record gives its contact's first request."""
    signals = []
    csat = record["csat_score"]
    if isinstance(csat, int) and csat <= policy.csat_at_most:
        signals.append("poor_rating")
    if record["followed_by_repeat"]:
        signals.append("repeat_contact")
    if record.could_have_handled:
        signals.append("escalation_flagged")
    return signals


class _ByConversation:
    """Messages of each conversation in time order, for finding one by time."""

    def __init__(self, messages: Iterable[Message]) -> None:
        self.messages: dict[str, list[Message]] = defaultdict(list)
        for message in sorted(messages, key=lambda m: m.at):
            self.messages[message.conversation_id].append(message)
        self.times = {cid: [m.at for m in ms] for cid, ms in self.messages.items()}

    def answered_by(self, conversation_id: str, turn_at: float) -> Message | None:
        """The latest message before a bot turn (the one it answered)."""
        index = bisect_right(self.times.get(conversation_id, []), turn_at)
        return self.messages[conversation_id][index - 1] if index else None

    def first_request(self, record: OutcomeRecord) -> Message | None:
        """The contact's message about its interaction type (else its first one)."""
        end = float(record["last_event_at"] or record.started_at) + TURN_SLACK_SECONDS
        within = [
            m
            for m in self.messages.get(record.conversation_id, [])
            if record.started_at - TURN_SLACK_SECONDS <= m.at <= end
        ]
        typed = [m for m in within if m.intent and m.intent == record.interaction_type]
        chosen = typed or within
        return chosen[0] if chosen else None


def build_items(
    messages: Iterable[Message],
    contacts: Iterable[OutcomeRecord],
    flags: Iterable[Flag],
    verdicts: Iterable[Verdict],
    labelled: set[str],
    policy: ReviewPolicy,
    reason_labels: Mapping[str, str] | None = None,
) -> list[Item]:
    """Every unlabelled message with at least one signal."""
    messages = list(messages)
    items = {m.key: Item(m, own_signals(m, policy)) for m in messages}
    index = _ByConversation(messages)
    for record in contacts:
        message = index.first_request(record)
        if message is not None:
            items[message.key].signals.update(contact_signals(record, policy))
    for flag in flags:
        message = index.answered_by(flag.conversation_id, flag.turn_at)
        if message is None:
            continue
        items[message.key].signals["agent_flag"] += 1
        reason = (reason_labels or {}).get(flag.reason, flag.reason)
        items[message.key].flags.append(
            {"reason": flag.reason, "label": reason, "bot_text": flag.bot_text, "note": flag.note}
        )
    by_conversation: dict[str, list[str]] = defaultdict(list)
    for verdict in verdicts:
        by_conversation[verdict.conversation_id].append(verdict.verdict)
    weights = policy.weights
    kept = []
    for item in items.values():
        if not item.signals or item.message.key in labelled:
            continue
        item.severity = sum(weights.get(name, 0.0) * n for name, n in item.signals.items())
        item.verdicts = sorted(set(by_conversation.get(item.message.conversation_id, [])))
        kept.append(item)
    return kept


def group_items(items: Iterable[Item], similarity: float) -> list[Group]:
    """Groups of similar messages per predicted intent, highest impact first."""
    by_intent: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_intent[item.message.intent or UNRECOGNISED].append(item)
    groups: list[Group] = []
    for intent, members in by_intent.items():
        members.sort(key=lambda i: (-i.severity, -i.message.at, i.message.key))
        clusters: list[tuple[frozenset[str], list[Item]]] = []
        for item in members:
            mine = words(item.message.text)
            home = next((c for c in clusters if jaccard(c[0], mine) >= similarity), None)
            if home is None:
                clusters.append((mine, [item]))
            else:
                home[1].append(item)
        for _, cluster in clusters:
            seed = f"{intent}\0{cluster[0].message.key}".encode()
            groups.append(Group(hashlib.sha256(seed).hexdigest()[:16], intent, cluster))
    groups.sort(key=lambda g: (-g.impact, -len(g.items), g.group_id))
    return groups

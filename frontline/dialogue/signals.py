"""Escalation signals of a conversation, computed from its events (no Rasa needed).

On every new customer message :func:`assess` asks, in this order:

1. Does the message touch a sensitive topic (self-harm, fraud, legal threats,
   chargebacks, complaints)? Keywords and patterns of the escalation policy's
   ``sensitive_topics``, then the trained intent (best, or a close runner-up;
   :mod:`frontline.dialogue.risk_signals`). A topic less urgent than the frustration
   rule (a complaint) is asked after 3.
2. Is its intent restricted on this channel (or for this tier) by the scope policy?
3. Is the customer frustrated? A small scoring classifier over the message's lexicon
   score, capitals, "third time I write", and what the conversation shows (see
   :func:`frustration`), compared with the escalation policy's threshold.

The first rule that fires is returned with everything needed to explain it, and whether
the customer counts as frustrated (no small talk, no jokes) even when nothing fired.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from frontline.dialogue.risk_signals import (
    matched_topic,
    recontacted,
    shouted,
    summary_line,
    topic_from_intents,
)
from frontline.policy import EscalationRule, FrustrationRule, Policies
from frontline.policy.escalation import urgency

#: Intents that carry no request of their own; repeating them is not "asking again".
CONVERSATIONAL_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "stop",
        "inform",
        "bot_challenge",
        "nlu_fallback",
        "faq",
        "chitchat",
        "csat_feedback",
    }
)
FALLBACK_INTENT = "nlu_fallback"

_RESET_EVENTS = frozenset({"restart", "session_started"})
_REPEATED_EXCLAMATION_RE = re.compile(r"!{2,}|[!?]{3,}")
_SHOUTED_WORD_RE = re.compile(r"\b[A-Z]{3,}\b")
_NORMALISE_RE = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class UserTurn:
    """One customer message, as the escalation signals see it."""

    text: str
    intent: str | None
    confidence: float | None = None
    #: The NLU's intent ranking, best first (before the not-understood decision).
    ranking: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class FrustrationScore:
    """The frustration score of the latest message, and what it is made of.

    Attributes:
        score: The combined score, compared with the policy's threshold.
        message: The lexicon score of the latest message (0..1).
        fallbacks: Not-understood messages in a row, the latest included.
        repeats: Earlier messages in the window asking the same thing again.
        trend: Rise of the lexicon score over the window (0..1).
        threshold: The policy's threshold.
        shouting: The latest message is mostly capitals.
        recontact: The latest message says the customer writes or waits again.
        negatives: Earlier messages in the window with a negative intent.
        peak: The highest lexicon score of a message in the window.
        detect_threshold: From this score (or peak) on, the customer is frustrated.
    """

    score: float
    message: float
    fallbacks: int
    repeats: int
    trend: float
    threshold: float
    shouting: bool = False
    recontact: bool = False
    negatives: int = 0
    peak: float = 0.0
    detect_threshold: float = 1.0

    @property
    def over_threshold(self) -> bool:
        return self.score >= self.threshold

    @property
    def detected(self) -> bool:
        """Frustrated enough for no small talk and no jokes (not yet for a handoff)."""
        return self.score >= self.detect_threshold or self.peak >= self.detect_threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 3),
            "message": round(self.message, 3),
            "fallbacks": self.fallbacks,
            "repeats": self.repeats,
            "trend": round(self.trend, 3),
            "shouting": self.shouting,
            "recontact": self.recontact,
            "negatives": self.negatives,
            "threshold": self.threshold,
        }


@dataclass(frozen=True)
class Assessment:
    """What the escalation signals concluded about the latest message.

    Attributes:
        rule: The rule that fired, or None.
        kind: ``sensitive_topic``, ``scope`` or ``frustration`` (None if nothing fired).
        matched: The words that matched a sensitive topic, or how its intent did
            (``intent:<name>`` or ``runner_up:<name>``).
        frustration: The frustration score (always computed).
    """

    rule: EscalationRule | None
    kind: str | None
    frustration: FrustrationScore
    matched: str | None = None

    @property
    def reason(self) -> str | None:
        """The handoff reason code of the rule that fired (None if nothing fired)."""
        return self.rule.reason if self.rule else None

    def metadata(self) -> dict[str, Any]:
        """What the audit trail records about the decision (no personal data)."""
        result: dict[str, Any] = {"frustration": self.frustration.as_dict()}
        if self.rule is not None:
            result |= {"kind": self.kind, "rule": self.rule.as_slot(), "reason": self.reason}
            if self.matched and self.matched.startswith(("intent:", "runner_up:")):
                result["matched"] = self.matched  # an intent name, no personal data
        return result


def message_score(text: str, intent: str | None, rule: FrustrationRule) -> float:
    """The lexicon score of one message, between 0 and 1.

    The sum of the weights of the lexicon terms found (each counted once), of the
    markers of emphasis present, and of the message's intent if it is negative in
    itself (e.g. ``insult``), capped at 1.
    """
    text = text or ""
    score = sum(weight for matcher, weight in rule.terms if matcher.search(text))
    if _REPEATED_EXCLAMATION_RE.search(text):
        score += rule.markers.get("repeated_exclamation", 0.0)
    if len(_SHOUTED_WORD_RE.findall(text)) >= 3:
        score += rule.markers.get("shouting", 0.0)
    score += rule.intents.get(intent or "", 0.0)
    return min(score, 1.0)


def _same_request(earlier: UserTurn, latest: UserTurn) -> bool:
    if _normalise(earlier.text) and _normalise(earlier.text) == _normalise(latest.text):
        return True
    return (
        latest.intent is not None
        and latest.intent not in CONVERSATIONAL_INTENTS
        and earlier.intent == latest.intent
    )


def _normalise(text: str) -> str:
    return _NORMALISE_RE.sub(" ", (text or "").lower()).strip()


def frustration(turns: Sequence[UserTurn], rule: FrustrationRule) -> FrustrationScore:
    """Scores how frustrated the customer is at their latest message.

    ``score = w.message * lexicon(latest) + w.fallback * fallbacks + w.repeat * repeats
    + w.trend * trend + w.shouting * shouting + w.recontact * recontact
    + w.negatives * negatives``, over the
    policy's window of the latest messages, where *fallbacks* counts not-understood
    messages in a row (the latest included), *repeats* counts earlier messages in the
    window asking the same thing as the latest (same request intent, or the same words),
    *trend* is how much higher the lexicon scores of the newer half of the window are
    than those of the older half, *shouting* is 1 when the latest message is mostly
    capitals, *recontact* is 1 when it says the customer writes or waits again, and
    *negatives* counts earlier messages in the window with a negative intent (insults,
    complaints: ``lexicon.intents``).
    """
    if not turns:
        return FrustrationScore(
            0.0, 0.0, 0, 0, 0.0, rule.threshold, detect_threshold=rule.detect_threshold
        )
    window = list(turns[-rule.window :])
    latest = window[-1]
    scores = [message_score(turn.text, turn.intent, rule) for turn in window]
    fallbacks = 0
    for turn in reversed(turns):
        if turn.intent != FALLBACK_INTENT:
            break
        fallbacks += 1
    repeats = sum(1 for turn in window[:-1] if _same_request(turn, latest))
    trend = 0.0
    if len(scores) >= 2:
        half = len(scores) // 2
        older, newer = scores[:half], scores[half:]
        trend = max(sum(newer) / len(newer) - sum(older) / len(older), 0.0)
    weights = rule.weights
    is_shouted = shouted(latest.text, rule)
    is_recontact = recontacted(latest.text, rule)
    negatives = sum(1 for turn in window[:-1] if rule.intents.get(turn.intent or "", 0.0) > 0)
    score = (
        weights["message"] * scores[-1]
        + weights["fallback"] * fallbacks
        + weights["repeat"] * repeats
        + weights["trend"] * trend
        + weights.get("shouting", 0.0) * is_shouted
        + weights.get("recontact", 0.0) * is_recontact
        + weights.get("negatives", 0.0) * negatives
    )
    return FrustrationScore(
        score,
        scores[-1],
        fallbacks,
        repeats,
        trend,
        rule.threshold,
        shouting=is_shouted,
        recontact=is_recontact,
        negatives=negatives,
        peak=max(scores),
        detect_threshold=rule.detect_threshold,
    )


def _user_turn(event: Mapping[str, Any]) -> UserTurn:
    parse_data = event.get("parse_data") or {}
    intent = (parse_data.get("intent") or {}) or {}
    confidence = intent.get("confidence")
    ranking = tuple(
        (str(entry["name"]), float(entry.get("confidence") or 0.0))
        for entry in parse_data.get("intent_ranking") or ()
        if isinstance(entry, Mapping) and entry.get("name")
    )
    return UserTurn(
        text=str(event.get("text") or ""),
        intent=intent.get("name"),
        confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
        ranking=ranking,
    )


def user_turns(events: Iterable[Mapping[str, Any]]) -> list[UserTurn]:
    """The customer's messages of the current session (after the last restart)."""
    turns: list[UserTurn] = []
    for event in events:
        kind = event.get("event")
        if kind in _RESET_EVENTS:
            turns = []
        elif kind == "user":
            turns.append(_user_turn(event))
    return turns


def recent_user_turns(
    events_newest_first: Iterable[Mapping[str, Any]], window: int
) -> list[UserTurn]:
    """The end of :func:`user_turns` that :func:`assess` looks at, oldest first.

    That is the latest ``window`` messages of the session, and further back while they
    were not understood (the fallbacks in a row count however long ago they began).
    Reading the events from the newest stops there, so the cost does not grow with the
    conversation.
    """
    turns: list[UserTurn] = []
    for event in events_newest_first:
        kind = event.get("event")
        if kind in _RESET_EVENTS:
            break
        if kind == "user":
            turns.append(_user_turn(event))
            if len(turns) >= window and turns[-1].intent != FALLBACK_INTENT:
                break
    turns.reverse()
    return turns


def assess(
    turns: Sequence[UserTurn],
    *,
    channel: str | None,
    tier: str | None,
    policies: Policies,
) -> Assessment:
    """Decides whether the latest message must be handed to a human, and why."""
    escalation = policies.escalation
    score = frustration(turns, escalation.frustration)
    if not turns:
        return Assessment(None, None, score)
    latest = turns[-1]
    text = latest.text if not latest.text.startswith("/") else ""  # a button's payload
    topics = escalation.sensitive_topics
    found = matched_topic(text, topics) or topic_from_intents(
        latest, topics, escalation.intent_signals
    )
    # A topic less urgent than frustration (a complaint) yields to it.
    yields = found is not None and found[0].rank > urgency(escalation.frustration.priority)
    if found is not None and not (score.over_threshold and yields):
        topic, matched = found
        rule = escalation.topic_rule(topic, summary_line(turns))
        return Assessment(rule, "sensitive_topic", score, matched)
    restriction = policies.scope.restriction_for(latest.intent, channel, tier)
    if restriction is not None:
        return Assessment(policies.scope.rule(restriction), "scope", score)
    if score.over_threshold:
        return Assessment(escalation.frustration_rule(score.score), "frustration", score)
    return Assessment(None, None, score)

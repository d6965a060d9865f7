"""Risk signals of one customer message that survive wording (no Rasa needed).

* :func:`topic_from_intents`: the trained intent (best, or a close runner-up) names a
  sensitive topic (``policies/escalation.yml``: the topics' ``intents`` and
  ``intent_signals``), whatever the words;
* :func:`matched_topic`: the topic whose keywords or patterns the message contains,
  the most urgent first;
* :func:`shouted` and :func:`recontacted`: two frustration signals (capitals; "third time
  I write", "still waiting");
* :func:`summary_line`: the customer's words on one masked line, for the agent.

:mod:`frontline.dialogue.signals` combines them into one assessment per message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from frontline.masking import mask_text
from frontline.policy.escalation import FrustrationRule, IntentSignals, SensitiveTopic

#: Intents the NLU pipeline sets in place of the classifier's own (not understood, "Did
#: you mean"): the ranking below them still holds the classifier's view.
PIPELINE_INTENTS = frozenset({"nlu_fallback", "nlu_clarify"})
#: Longest summary line: the packet's rationale holds 300 characters with the rule's words.
SUMMARY_MAX_LENGTH = 200

_LETTER_RE = re.compile(r"[^\W\d_]")
_WHITESPACE_RE = re.compile(r"\s+")


class RankedTurn(Protocol):
    """What these signals read of a customer message (a ``signals.UserTurn``)."""

    @property
    def text(self) -> str:
        ...

    @property
    def intent(self) -> str | None:
        ...

    @property
    def confidence(self) -> float | None:
        ...

    @property
    def ranking(self) -> tuple[tuple[str, float], ...]:
        ...


def classifier_ranking(turn: RankedTurn) -> list[tuple[str, float]]:
    """The classifier's intents, best first, without the pipeline's own decisions."""
    ranking = [(name, score) for name, score in turn.ranking if name not in PIPELINE_INTENTS]
    if ranking:
        return ranking
    if turn.intent and turn.intent not in PIPELINE_INTENTS:
        return [(turn.intent, float(turn.confidence or 0.0))]
    return []


def topic_from_intents(
    turn: RankedTurn, topics: Sequence[SensitiveTopic], signals: IntentSignals
) -> tuple[SensitiveTopic, str] | None:
    """The topic the message's intents name, and how (``intent:<name>`` or
    ``runner_up:<name>``).

    The best intent counts from ``signals.min_confidence``; the runner-up counts when it
    has ``signals.runner_up_min_confidence`` and is within ``signals.runner_up_max_gap``
    of the best. When both name a topic, the best intent's wins.
    """
    ranking = classifier_ranking(turn)
    if not ranking:
        return None
    by_intent = {intent: topic for topic in topics for intent in topic.intents}
    best, best_score = ranking[0]
    if best in by_intent and best_score >= signals.min_confidence:
        return by_intent[best], f"intent:{best}"
    if len(ranking) > 1:
        second, second_score = ranking[1]
        if (
            second in by_intent
            and second_score >= signals.runner_up_min_confidence
            and best_score - second_score <= signals.runner_up_max_gap
        ):
            return by_intent[second], f"runner_up:{second}"
    return None


def matched_topic(text: str, topics: Sequence[SensitiveTopic]) -> tuple[SensitiveTopic, str] | None:
    """The most urgent topic whose keywords or patterns ``text`` contains (the first
    listed among equals), with the words that matched."""
    found = [(topic, topic.matches(text)) for topic in topics]
    hits = [(topic, words) for topic, words in found if words]
    if not hits:
        return None
    return min(hits, key=lambda hit: hit[0].rank)  # min() keeps the first among equals


def shouted(text: str, rule: FrustrationRule) -> bool:
    """Whether the message is mostly capitals (``frustration.capitals``)."""
    letters = _LETTER_RE.findall(text or "")
    if len(letters) < rule.capitals.get("min_letters", 10):
        return False
    capitals = sum(1 for letter in letters if letter.isupper())
    return capitals / len(letters) >= rule.capitals.get("min_share", 1.0)


def recontacted(text: str, rule: FrustrationRule) -> bool:
    """Whether the customer says they are writing, calling or waiting again."""
    return bool(rule.recontact and rule.recontact.search(text or ""))


def summary_line(turns: Sequence[RankedTurn]) -> str:
    """The latest typed message (not a button), masked, on one line, clipped."""
    for turn in reversed(turns):
        text = (turn.text or "").strip()
        if text and not text.startswith("/"):
            line = _WHITESPACE_RE.sub(" ", mask_text(text) or "")
            if len(line) > SUMMARY_MAX_LENGTH:
                line = line[: SUMMARY_MAX_LENGTH - 1].rstrip() + "…"
            return f"“{line}”"
    return "(no words of their own: chosen from the buttons)"

"""Customer satisfaction: when to ask "How did I do?", and what an answer means.

The question is asked once a contact was resolved by the assistant (an order's status
shown, an order cancelled, a refund issued, a reset link sent, an account change
applied, a billing question answered), once per conversation session. The pending
question lives in the ``csat`` slot::

    {"feedback_id": "...", "intent": "cancel_order", "rated": false}

An answer is a score from 1 to 5 and/or a comment, in one message or two; both
complete the same record. Skipping is fine: any other request simply proceeds.

A comment is only taken right after the question (or right after the thanks for a
score, which invites one): :func:`answers_the_question`. Words of feedback at any other
time ("I want to complain about your terrible service") are not a rating comment: they
are not stored, and the customer is offered to make a complaint to a person.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from frontline.feedback import CsatRecord, FeedbackError, FeedbackStore
from frontline.feedback.base import MAX_COMMENT_LENGTH
from frontline.masking import mask_text
from frontline.patterns import normalize_rating

logger = logging.getLogger(__name__)

# Words that only restate the rating ("4 stars out of 5"), not a comment.
_RATING_WORDS = frozenset(
    "a an i id i'd give you it my rating rate score is of out star stars points point "
    "one two three four five".split()
)
_WORD_RE = re.compile(r"[a-z']+")

#: Responses after which the customer's next message answers the rating question.
CSAT_PROMPTS = frozenset({"utter_ask_csat", "utter_csat_thanks"})


def answers_the_question(events: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the latest customer message came right after the rating question.

    True when the bot's messages between the previous customer message and the latest
    one include the question (``utter_ask_csat``) or the thanks for a score that invites
    a comment (``utter_csat_thanks``).

    Args:
        events: The conversation's events (tracker event dictionaries), oldest first.
    """
    seen_latest = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest:
                return False
            seen_latest = True
        elif kind == "bot" and seen_latest:
            if (event.get("metadata") or {}).get("utter_action") in CSAT_PROMPTS:
                return True
    return False


def ask_csat(pending: Any, intent: str, conversation_id: str, now: datetime) -> dict | None:
    """The new ``csat`` slot value when the question should be asked, else None.

    Asked once per conversation session: a customer who answered, or who skipped the
    question by carrying on, is not asked again after the next contact.

    Args:
        pending: The current ``csat`` slot value.
        intent: The contact that was just resolved.
        conversation_id: Rasa sender id.
        now: The time of the question (makes the id unique per question).
    """
    if isinstance(pending, dict):
        return None
    material = f"{conversation_id}\x1f{intent}\x1f{now.isoformat()}"
    feedback_id = "csat-" + hashlib.sha256(material.encode()).hexdigest()[:32]
    return {"feedback_id": feedback_id, "intent": intent, "rated": False}


@dataclass(frozen=True)
class Feedback:
    """What one customer message says in answer to the question."""

    score: int | None
    comment: str | None

    @property
    def empty(self) -> bool:
        return self.score is None and not self.comment


def read_feedback(text: str | None, rating_entities: list[Any]) -> Feedback:
    """The score and comment in a message.

    The score comes from a ``rating`` entity, or from the text itself ("4", "4/5",
    "four stars"). The comment is the text, masked, when it says more than the
    rating; a button press (a ``/intent`` payload) has no comment.
    """
    text = (text or "").strip()
    score = None
    for value in rating_entities:
        score = normalize_rating(value)
        if score is not None:
            break
    if text.startswith("/"):
        return Feedback(score, None)
    if score is None:
        score = normalize_rating(text)
    words = [w for w in _WORD_RE.findall(text.lower()) if w not in _RATING_WORDS]
    comment = (mask_text(text) or "")[:MAX_COMMENT_LENGTH] if words else None
    return Feedback(score, comment)


class CsatOutcome(str, enum.Enum):
    SAVED = "saved"  # a score (with or without a comment)
    COMMENT_SAVED = "comment_saved"  # a comment completing an earlier score
    NOT_UNDERSTOOD = "not_understood"  # neither a score nor a comment
    NOT_RATED = "not_rated"  # words of feedback nobody asked for: not stored
    FAILED = "failed"  # the store could not be reached; nothing is lost for the customer


CSAT_RESPONSES = {
    CsatOutcome.SAVED: "utter_csat_thanks",
    CsatOutcome.COMMENT_SAVED: "utter_csat_comment_thanks",
    CsatOutcome.NOT_UNDERSTOOD: "utter_csat_not_understood",
    CsatOutcome.NOT_RATED: "utter_feedback_not_rated",
    CsatOutcome.FAILED: "utter_csat_thanks",
}


@dataclass(frozen=True)
class CsatResult:
    outcome: CsatOutcome
    pending: dict | None
    record: CsatRecord | None = None

    @property
    def response(self) -> str:
        return CSAT_RESPONSES[self.outcome]


async def record_feedback(
    store: FeedbackStore,
    *,
    pending: Any,
    feedback: Feedback,
    conversation_id: str,
    channel: str | None,
    latest_intent: str | None,
    now: datetime,
    answering: bool = True,
) -> CsatResult:
    """Stores an answer to the CSAT question (an upsert on the question's id).

    Args:
        pending: The ``csat`` slot: the question answered. Unprompted feedback gets a
            question id of its own and the contact ``latest_intent``.
        feedback: What the message says.
        channel: The conversation's input channel.
        answering: Whether the message came right after the question
            (:func:`answers_the_question`). If not, its words are no rating comment:
            only a score for a question still open is kept (a late tap on a rating
            button), and without one nothing is stored (``NOT_RATED``).

    Returns:
        The outcome and the new ``csat`` slot value (marked as rated once a score
        arrived, so the question is not asked again).
    """
    question = dict(pending) if isinstance(pending, dict) else None
    if not answering:
        if question is None or question.get("rated") or feedback.score is None:
            return CsatResult(CsatOutcome.NOT_RATED, question)
        feedback = Feedback(feedback.score, None)
    if feedback.empty:
        return CsatResult(CsatOutcome.NOT_UNDERSTOOD, question)
    if question is None:
        question = ask_csat(None, latest_intent or "unknown", conversation_id, now) or {}
    record = CsatRecord(
        feedback_id=str(question["feedback_id"]),
        conversation_id=conversation_id,
        channel=channel or "unknown",
        intent=question.get("intent"),
        score=feedback.score,
        comment=feedback.comment,
        created_at=now,
        updated_at=now,
    )
    outcome = CsatOutcome.SAVED if feedback.score is not None else CsatOutcome.COMMENT_SAVED
    question["rated"] = bool(question.get("rated")) or feedback.score is not None
    loop = asyncio.get_running_loop()
    try:
        stored = await loop.run_in_executor(None, store.save, record)
    except FeedbackError as exc:
        logger.error("CSAT feedback of %s was not stored: %s", conversation_id, exc)
        return CsatResult(CsatOutcome.FAILED, question)
    return CsatResult(outcome, question, stored)

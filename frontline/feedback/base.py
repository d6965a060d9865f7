"""Customer-satisfaction (CSAT) feedback: the record and the store interface.

After a contact the assistant resolved, it asks "How did I do? 1-5". Each answer is
one record: which conversation, on which channel, about which contact (intent), the
score and an optional comment (masked before it is stored). Designers read these
records to see which flows customers are happy with.

A record is identified by ``feedback_id``, which is the same for every answer to one
question (a rating, then a comment in the next message), so saving is an upsert: the
comment joins the rating instead of adding a row.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime

from frontline.backends import Backend
from frontline.errors import FrontlineError

SCORE_MIN, SCORE_MAX = 1, 5
MAX_COMMENT_LENGTH = 1000
MAX_FEEDBACK_ID_LENGTH = 64
MAX_CONVERSATION_ID_LENGTH = 255
MAX_CHANNEL_LENGTH = 64
MAX_INTENT_LENGTH = 100


class FeedbackError(FrontlineError):
    """The feedback store could not save or read a record."""


class InvalidFeedback(FeedbackError):
    """A record breaks the store's rules (score out of range, missing ids, ...)."""


@dataclass(frozen=True)
class CsatRecord:
    """One answer to "How did I do?".

    Attributes:
        feedback_id: Identifies the question answered (stable across its answers).
        conversation_id: Rasa sender id.
        channel: Input channel (``rest``, ``socketio``, ``slack``, ...).
        intent: The contact the question was about (``cancel_order``), if known.
        score: 1 to 5, or None when only a comment was given.
        comment: What the customer wrote, masked; None when there was none.
        created_at: When the first answer arrived (UTC).
        updated_at: When the record last changed (UTC).
    """

    feedback_id: str
    conversation_id: str
    channel: str
    intent: str | None
    score: int | None
    comment: str | None
    created_at: datetime
    updated_at: datetime

    def validate(self) -> None:
        """Raises ``InvalidFeedback`` unless the record can be stored."""
        if not self.feedback_id or len(self.feedback_id) > MAX_FEEDBACK_ID_LENGTH:
            raise InvalidFeedback("feedback_id must be 1-64 characters")
        if not self.conversation_id or len(self.conversation_id) > MAX_CONVERSATION_ID_LENGTH:
            raise InvalidFeedback("conversation_id must be 1-255 characters")
        if not self.channel or len(self.channel) > MAX_CHANNEL_LENGTH:
            raise InvalidFeedback("channel must be 1-64 characters")
        if self.intent is not None and len(self.intent) > MAX_INTENT_LENGTH:
            raise InvalidFeedback("intent is too long")
        if self.score is not None and not SCORE_MIN <= self.score <= SCORE_MAX:
            raise InvalidFeedback(f"score must be {SCORE_MIN}-{SCORE_MAX}, not {self.score}")
        if self.score is None and not self.comment:
            raise InvalidFeedback("a record needs a score or a comment")
        if self.comment is not None and len(self.comment) > MAX_COMMENT_LENGTH:
            raise InvalidFeedback("comment is too long")
        for moment in (self.created_at, self.updated_at):
            if moment.tzinfo is None:
                raise InvalidFeedback("timestamps must be timezone-aware")


class FeedbackStore(Backend, abc.ABC):
    """Where CSAT records are kept. Safe to share between threads."""

    @abc.abstractmethod
    def save(self, record: CsatRecord) -> CsatRecord:
        """Inserts the record, or updates the one with the same ``feedback_id``.

        On update, a None score or comment keeps the stored value, and ``created_at``
        is kept: a comment sent after the rating completes the record.

        Returns:
            The record as stored.

        Raises:
            InvalidFeedback: The record breaks the rules of :meth:`CsatRecord.validate`.
            FeedbackError: The store could not be reached.
        """

    @abc.abstractmethod
    def get(self, feedback_id: str) -> CsatRecord | None:
        """The record with this id, or None."""

    @abc.abstractmethod
    def for_conversation(self, conversation_id: str) -> list[CsatRecord]:
        """A conversation's records, oldest first."""

"""What an outcome record is: the outcomes a contact can have, and the record itself.

A *contact* is one Rasa conversation session (a ``session_started`` event, or a
restart, begins the next one). Its outcome record is kept current from the events the
Rasa server publishes (:mod:`frontline.outcomes.folding`) and stored in the
``contact_outcomes`` table (:mod:`frontline.outcomes.sql_store`). Every definition is
in ``docs/metrics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The customer's request was met by the assistant alone.
RESOLVED_BY_ASSISTANT = "resolved_by_assistant"
#: As above, after the assistant asked the customer to clarify at least once.
RESOLVED_AFTER_CLARIFICATION = "resolved_after_clarification"
#: Handed to a person, who resolved it.
RESOLVED_BY_PERSON = "resolved_by_person"
#: Handed to a person, who gave it back; the assistant then resolved it.
HANDED_BACK_RESOLVED = "handed_back_resolved"
#: Handed to a person and not (yet) resolved (``escalation_reason`` says why).
ESCALATED = "escalated"
#: Engaged, neither resolved nor handed off, and the customer went quiet for the
#: policy's ``abandon_after_minutes`` (or the session ended).
ABANDONED = "abandoned"
#: The customer never made a request (a greeting, thanks): not counted in the rates.
UNENGAGED = "unengaged"
#: Still going: none of the above yet.
IN_PROGRESS = "in_progress"

OUTCOMES = (
    RESOLVED_BY_ASSISTANT,
    RESOLVED_AFTER_CLARIFICATION,
    RESOLVED_BY_PERSON,
    HANDED_BACK_RESOLVED,
    ESCALATED,
    ABANDONED,
    UNENGAGED,
    IN_PROGRESS,
)
#: Outcomes where the customer's request was met.
RESOLVED_OUTCOMES = frozenset(
    {RESOLVED_BY_ASSISTANT, RESOLVED_AFTER_CLARIFICATION, RESOLVED_BY_PERSON, HANDED_BACK_RESOLVED}
)
#: Outcomes the assistant reached without a person.
AUTOMATED_OUTCOMES = frozenset({RESOLVED_BY_ASSISTANT, RESOLVED_AFTER_CLARIFICATION})
#: Outcomes that involved a person.
HUMAN_OUTCOMES = frozenset({RESOLVED_BY_PERSON, HANDED_BACK_RESOLVED, ESCALATED})
#: Outcomes that are final for the rates (``in_progress`` and ``unengaged`` are not).
COUNTED_OUTCOMES = frozenset(OUTCOMES) - {IN_PROGRESS, UNENGAGED}

#: The interaction type of an engaged contact whose requests were never understood.
UNRECOGNISED = "unrecognised"
UNKNOWN = "unknown"
#: Bins of the confidence histogram: [0, 0.1), [0.1, 0.2), ... [0.9, 1.0].
CONFIDENCE_BINS = 10


@dataclass(frozen=True)
class OutcomeRecord:
    """One contact's outcome, as stored (all times are seconds since the epoch, UTC).

    Attributes:
        contact_id: Stable id (a hash of the conversation id and the session start).
        conversation_id: Rasa's sender id.
        started_at: When the contact (session) began.
        channel: Input channel (``rest``, ``socketio``, ``slack``), ``unknown`` if none.
        customer_key: Pseudonymous customer id (a keyed hash; see
            :mod:`frontline.outcomes.pseudonym`), None before the first message.
        customer_verified: Whether the key is of a verified customer (same on every
            channel) or of the channel's sender id.
        tier: The customer's tier, ``unknown`` while not known.
        interaction_type: The customer's first request (intent), ``unrecognised`` when
            none was understood, None for an unengaged contact.
        outcome: One of :data:`OUTCOMES`.
        escalation_reason: The handoff's reason code, if handed off.
        could_have_handled: A person's verdict: the assistant could have handled it.
        values: Every other column (times, counts, CSAT, sentiment, confidence,
            versions, implicit signals), by column name; see ``docs/metrics.md``.
    """

    contact_id: str
    conversation_id: str
    started_at: float
    channel: str
    customer_key: str | None
    customer_verified: bool
    tier: str
    interaction_type: str | None
    outcome: str
    escalation_reason: str | None = None
    could_have_handled: bool | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, column: str) -> Any:
        """Any column by name (``record["turns"]``)."""
        if column in self.__dataclass_fields__ and column != "values":
            return getattr(self, column)
        return self.values[column]

    def as_dict(self) -> dict[str, Any]:
        """Every column, by name (JSON-able)."""
        base = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "values"}
        return base | self.values

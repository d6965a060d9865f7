"""Where outcome records and SLO evaluations are kept: the interface.

Three kinds of users, three groups of methods:

* the outcome writer (the Rasa server's broker, or a rebuild): :meth:`latest_states`,
  :meth:`save`, :meth:`previous_contact`, :meth:`mark_repeat`, :meth:`close_idle`,
  :meth:`open_escalations`;
* people and views (the desk, the Insights view, the review inbox): :meth:`get`,
  :meth:`for_conversation`, :meth:`search`, :meth:`mark_could_have_handled`;
* SLOs: :meth:`record_slo_evaluations`, :meth:`slo_status`, :meth:`slo_breaches`.

The metrics (:mod:`frontline.metrics`) aggregate in SQL over the one implementation,
:class:`~frontline.outcomes.sql_store.SqlOutcomeStore`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from frontline.errors import FrontlineError
from frontline.outcomes.model import OutcomeRecord
from frontline.outcomes.state import ContactState


class OutcomeStoreError(FrontlineError):
    """The outcome store could not be reached or refused an operation."""


class ContactNotFound(OutcomeStoreError):
    """No contact (outcome record) has this id."""


@dataclass(frozen=True)
class SloEvaluation:
    """One objective judged in one segment over the rolling window.

    Attributes:
        objective_id: The objective's id in ``policies/slo.yml``.
        segment: ``all``, or ``channel=rest`` / ``channel=rest,tier=gold``.
        metric: The metric judged.
        direction: ``min`` or ``max``: which side of ``target`` is good.
        target: The objective's target.
        state: ``met``, ``at_risk``, ``breached`` or ``no_data``.
        value: The point estimate (None without data).
        lower: Lower end of the interval.
        upper: Upper end of the interval.
        sample: Contacts (or escalations) the estimate rests on.
        window_start: Start of the rolling window (epoch seconds).
        evaluated_at: When it was judged (epoch seconds).
    """

    objective_id: str
    segment: str
    metric: str
    direction: str
    target: float
    state: str
    value: float | None
    lower: float | None
    upper: float | None
    sample: int
    window_start: float
    evaluated_at: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class OutcomeStore(abc.ABC):
    """Outcome records and SLO evaluations. Safe to share between threads."""

    # -- the writer ------------------------------------------------------------------

    @abc.abstractmethod
    def latest_states(self, conversation_ids: Iterable[str]) -> dict[str, ContactState]:
        """The fold state of each conversation's latest contact (if it has one)."""

    @abc.abstractmethod
    def save(
        self,
        rows: Sequence[tuple[ContactState, Mapping[str, Any]]],
        now: float,
        repeats: Mapping[str, str] | None = None,
    ) -> set[str]:
        """Writes the folded columns of each contact, if nobody changed it meanwhile.

        A contact whose ``state.version`` is 0 is inserted; otherwise its row is updated
        only while its version is still ``state.version``. Each saved state's version
        is advanced. ``repeats`` (contact id -> the earlier contact it repeats) are
        marked in the same transaction (:meth:`mark_repeat`).

        Returns:
            Ids of the contacts not saved because another writer got there first.
        """

    @abc.abstractmethod
    def previous_contact(
        self, customer_key: str, interaction_type: str, before: float, since: float, exclude: str
    ) -> str | None:
        """The latest contact of this customer about this type in ``[since, before)``."""

    @abc.abstractmethod
    def mark_repeat(self, contact_id: str, previous_id: str) -> None:
        """Records that ``contact_id`` repeats ``previous_id`` (which was followed by it)."""

    @abc.abstractmethod
    def close_idle(self, now: float, abandon_after_seconds: float) -> int:
        """Marks contacts in progress whose customer has been quiet too long as abandoned
        (or unengaged); returns how many."""

    @abc.abstractmethod
    def open_escalations(self, since: float, limit: int) -> list[ContactState]:
        """States of contacts handed to a person since ``since`` whose person side is
        not complete yet (not resolved, or timings missing), newest first."""

    @abc.abstractmethod
    def forget_conversations(self, conversation_ids: Iterable[str]) -> dict[str, dict]:
        """Deletes the records of these conversations (before a rebuild); returns the
        people's verdicts on them by contact id, for :meth:`restore_verdicts`."""

    @abc.abstractmethod
    def restore_verdicts(self, verdicts: Mapping[str, Mapping[str, Any]]) -> None:
        """Puts verdicts back on the (rebuilt) contacts that still exist."""

    # -- people and views ------------------------------------------------------------

    @abc.abstractmethod
    def get(self, contact_id: str) -> OutcomeRecord | None:
        """One record, or None."""

    @abc.abstractmethod
    def for_conversation(self, conversation_id: str) -> list[OutcomeRecord]:
        """A conversation's records, oldest first."""

    @abc.abstractmethod
    def search(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        where: Mapping[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[OutcomeRecord]:
        """Records that started in ``[since, until)`` and match ``where`` (column ->
        value, or a list of values), newest first: the drill-down from a number to
        the contacts behind it."""

    @abc.abstractmethod
    def mark_could_have_handled(
        self, contact_id: str, agent_id: str, could_have: bool, note: str | None, now: float
    ) -> OutcomeRecord:
        """Records a person's verdict on an escalated contact.

        Raises:
            ContactNotFound: No such contact.
            ValueError: The agent id or note is empty or too long.
        """

    @abc.abstractmethod
    def mark_agent_flag(self, contact_id: str, reason: str, now: float) -> OutcomeRecord:
        """Counts an agent's flag on one of the assistant's turns in a contact.

        ``agent_flags`` goes up by one and ``reason`` joins ``agent_flag_reasons``.

        Raises:
            ContactNotFound: No such contact.
            ValueError: The reason is empty or holds a comma.
        """

    # -- SLOs ------------------------------------------------------------------------

    @abc.abstractmethod
    def record_slo_evaluations(self, evaluations: Sequence[SloEvaluation]) -> list[SloEvaluation]:
        """Stores the latest evaluations, opens and closes breaches.

        Returns:
            The evaluations that opened a new breach (for the log).
        """

    @abc.abstractmethod
    def slo_status(self) -> list[SloEvaluation]:
        """The latest evaluation of every objective and segment."""

    @abc.abstractmethod
    def slo_breaches(self, since: float | None = None, open_only: bool = False) -> list[dict]:
        """Breaches opened since ``since`` (or still open), newest first."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Releases connections (the process-wide engine stays for its other users)."""

    def __enter__(self) -> OutcomeStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

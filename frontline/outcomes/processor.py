"""Batches of Rasa events in, outcome records up to date in the store.

:class:`OutcomeProcessor` is what the broker's background thread runs (and what a
rebuild from the tracker store runs): for each batch it

1. reads the stored state of every conversation in the batch (one query), so any
   process (another Sanic worker or instance, the same one after a restart) carries on
   where the last writer stopped;
2. folds the batch's events (:class:`~frontline.outcomes.folding.OutcomeFolder`);
3. completes what the events do not hold: the CSAT score and masked comment (the
   feedback store), the person's side (the handoff queue,
   :mod:`frontline.outcomes.human_side`), whether the contact repeats an earlier one;
4. saves the records, each only if no other writer changed it meanwhile; a contact
   another writer got to first is read again and its events folded again.

:meth:`OutcomeProcessor.housekeeping` runs between batches: contacts gone quiet become
abandoned, open escalations are compared with the queue again, and the SLOs are
evaluated (the callable given as ``on_tick``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from frontline.feedback import FeedbackError, FeedbackStore
from frontline.outcomes.folding import OutcomeFolder
from frontline.outcomes.human_side import QueueReader, apply_entries
from frontline.outcomes.model import UNRECOGNISED
from frontline.outcomes.policy import OutcomePolicy
from frontline.outcomes.simulated_clock import shift_events
from frontline.outcomes.state import ContactState, derive_row
from frontline.outcomes.store import OutcomeStore, OutcomeStoreError

logger = logging.getLogger(__name__)

#: Attempts at saving a conversation that other writers keep changing.
SAVE_ATTEMPTS = 3
#: Escalations older than this are no longer compared with the queue.
ESCALATION_LOOKBACK_SECONDS = 14 * 86_400.0
RECONCILE_LIMIT = 200


class OutcomeProcessor:
    """Folds batches of events into stored outcome records.

    Args:
        store: Where records go.
        folder: Turns events into contact states.
        policy: The outcome definitions.
        feedback: The CSAT store (None: scores are not filled in).
        queue: Reads the handoff queue (None: no person-side timings).
        clock: The current time, in epoch seconds (tests pass their own).
        housekeeping_every: Seconds between two housekeeping rounds.
        on_tick: Called with the time at every housekeeping round (SLO evaluation).
        simulated_clock: Date demo conversations days back
            (:mod:`frontline.outcomes.simulated_clock`; demos and tests only).
    """

    def __init__(
        self,
        store: OutcomeStore,
        folder: OutcomeFolder,
        policy: OutcomePolicy,
        *,
        feedback: FeedbackStore | None = None,
        queue: QueueReader | None = None,
        clock: Callable[[], float] = time.time,
        housekeeping_every: float = 15.0,
        on_tick: Callable[[float], object] | None = None,
        simulated_clock: bool = False,
    ) -> None:
        self.store = store
        self.folder = folder
        self.policy = policy
        self.feedback = feedback
        self.queue = queue
        self.clock = clock
        self.housekeeping_every = housekeeping_every
        self.on_tick = on_tick
        self.simulated_clock = simulated_clock
        self.saved = 0
        self._last_housekeeping = float("-inf")

    def process(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Folds a batch of events (of any conversations, each in order); returns how
        many records were saved.

        Raises:
            OutcomeStoreError: The store could not be reached (the batch is lost to the
                caller, which logs it; a rebuild recovers it).
        """
        by_conversation: dict[str, list[Mapping[str, Any]]] = {}
        for event in events:
            sender = event.get("sender_id")
            if isinstance(sender, str) and sender:
                by_conversation.setdefault(sender, []).append(event)
        if self.simulated_clock:
            by_conversation = {
                sender: shift_events(sender, batch) for sender, batch in by_conversation.items()
            }
        pending = set(by_conversation)
        saved = 0
        for _ in range(SAVE_ATTEMPTS):
            if not pending:
                break
            stored = self.store.latest_states(pending)
            states: list[ContactState] = []
            for conversation_id in sorted(pending):
                states += self.folder.fold(
                    conversation_id,
                    by_conversation[conversation_id],
                    stored.get(conversation_id),
                )
            conflicts = self._save(states)
            saved += len(states) - len(conflicts)
            pending = {s.conversation_id for s in states if s.contact_id in conflicts}
        if pending:
            logger.error(
                "Outcome records of %d conversations kept changing under this writer; "
                "they are left to the next events or a rebuild",
                len(pending),
            )
        self.saved += saved
        return saved

    def _save(self, states: list[ContactState]) -> set[str]:
        for state in states:
            self._complete(state)
        repeats = {}
        for state in states:
            previous = self._previous(state)
            if previous:
                repeats[state.contact_id] = previous
        now = self.clock()
        rows = [(state, derive_row(state, self.policy, now)) for state in states]
        return self.store.save(rows, now, repeats)

    def _complete(self, state: ContactState) -> None:
        """Fills in the CSAT answer and the person's side when the events asked for it."""
        if state.csat_needs_lookup and state.csat_feedback_id and self.feedback is not None:
            try:
                record = self.feedback.get(state.csat_feedback_id)
            except FeedbackError as exc:
                logger.warning("CSAT of %s unreadable: %s", state.conversation_id, exc)
            else:
                if record is not None:
                    state.csat_score = record.score
                    state.csat_comment = record.comment
                    state.csat_needs_lookup = False
        if state.human_needs_lookup and self.queue is not None:
            entries = self.queue.entries(state.conversation_id)
            if entries is not None:
                apply_entries(state, entries)
                state.human_needs_lookup = False

    def _previous(self, state: ContactState) -> str | None:
        """The earlier contact this one repeats, the first time its customer and type
        are both known (then never asked again)."""
        kind = state.interaction_type
        if not state.customer_key or not kind or kind == UNRECOGNISED:
            return None
        checked = f"{state.customer_key}|{kind}"
        if state.repeat_checked == checked:
            return None
        state.repeat_checked = checked
        return self.store.previous_contact(
            state.customer_key,
            kind,
            before=state.started_at,
            since=state.started_at - self.policy.repeat_contact_seconds,
            exclude=state.contact_id,
        )

    def housekeeping(self, force: bool = False) -> None:
        """Closes quiet contacts, re-reads open escalations, evaluates the SLOs: at most
        once every ``housekeeping_every`` seconds unless ``force``."""
        now = self.clock()
        if not force and now - self._last_housekeeping < self.housekeeping_every:
            return
        self._last_housekeeping = now
        try:
            closed = self.store.close_idle(now, self.policy.abandon_after_seconds)
            if closed:
                logger.info("%d quiet contacts are now abandoned or unengaged", closed)
            self._reconcile(now)
        except OutcomeStoreError as exc:
            logger.error("Outcome housekeeping failed: %s", exc)
        if self.on_tick is not None:
            self.on_tick(now)

    def _reconcile(self, now: float) -> None:
        """Compares open escalations with the queue (a person may have claimed or
        resolved one without a new event in its contact, e.g. after the session ended)."""
        if self.queue is None:
            return
        states = self.store.open_escalations(now - ESCALATION_LOOKBACK_SECONDS, RECONCILE_LIMIT)
        changed = []
        for state in states:
            before = (state.queue_wait_seconds, state.human_seconds, state.resolution_code)
            entries = self.queue.entries(state.conversation_id)
            if entries is None:
                return  # the queue is down: next round
            apply_entries(state, entries)
            if (state.queue_wait_seconds, state.human_seconds, state.resolution_code) != before:
                changed.append(state)
        if changed:
            self.store.save([(s, derive_row(s, self.policy, now)) for s in changed], now)

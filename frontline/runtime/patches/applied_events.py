"""``applied_events()`` and the latest restart, folded in as events arrive.

Why a patch: Rasa 3.6's ``DialogueStateTracker.applied_events`` scans every event of the
tracker on each call, and Rasa calls it several times per message (each prediction,
session expiry, tracker serialisation); ``idx_after_latest_restart``, which forms ask for
on every slot validation, walks back through every event looking for a restart (0.85 ms
for 2,700 events). Both cost more the longer the conversation. A tracker is Rasa's own
class, built by Rasa (there is no tracker factory to configure), so the two methods are
replaced by :func:`incremental_applied_events` and
:func:`incremental_idx_after_latest_restart`: each keeps its result on the tracker and
extends it by the events added since, as long as the tracker only grew (checked by the
identity of its last event), with Rasa's own fold for the new events.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from frontline.runtime.patch import Patch

#: Where each cache lives on a tracker (``tracker.__dict__``).
APPLIED_ATTRIBUTE = "_frontline_applied_events"
RESTART_ATTRIBUTE = "_frontline_latest_restart"

_original_applied_events = DialogueStateTracker.applied_events
_original_idx_after_latest_restart = DialogueStateTracker.idx_after_latest_restart


@dataclass
class _AppliedEvents:
    """``applied_events()`` of a tracker's first ``count`` events.

    ``lineage`` is replaced whenever ``applied`` changes other than by appending (a
    restart, a revert, a folded loop execution): lists returned under one lineage are
    prefixes of each other, which spares the replay of states
    (:mod:`frontline.runtime.patches.past_states`) comparing them.
    """

    count: int
    last_event: Event | None
    loop_names: set[str]
    applied: list[Event]
    lineage: object = field(default_factory=object)


def incremental_applied_events(self: DialogueStateTracker) -> list[Event]:
    """Drop-in for ``DialogueStateTracker.applied_events`` that folds in new events only.

    Rasa's version scans every event of the tracker on each call (several times per
    prediction). The fold below is Rasa's own; it is resumed where the last call stopped
    as long as the tracker only grew and no loop appeared that was unknown then (the set
    of loops decides how every earlier loop execution is folded).
    """
    events = self.events
    cache: _AppliedEvents | None = self.__dict__.get(APPLIED_ATTRIBUTE)
    usable = (
        cache is not None
        and not self._max_event_history
        and cache.count <= len(events)
        and (cache.count == 0 or events[cache.count - 1] is cache.last_event)
    )
    if not usable:
        return _rebuild_applied_events(self)
    assert cache is not None
    # From the end: a deque's islice would walk from the front to reach ``cache.count``.
    new_events = list(itertools.islice(reversed(events), len(events) - cache.count))
    new_events.reverse()
    if any(
        isinstance(event, ActiveLoop) and event.name and event.name not in cache.loop_names
        for event in new_events
    ):
        return _rebuild_applied_events(self)
    applied = cache.applied
    for event in new_events:
        # The body of Rasa 3.6's DialogueStateTracker.applied_events loop.
        if isinstance(event, (Restarted, SessionStarted)):
            applied = []
            cache.lineage = object()
        elif isinstance(event, ActionReverted):
            self._undo_till_previous(ActionExecuted, applied)
            cache.lineage = object()
        elif isinstance(event, UserUtteranceReverted):
            self._undo_till_previous(UserUttered, applied)
            self._undo_till_previous(ActionExecuted, applied)
            cache.lineage = object()
        elif (
            isinstance(event, ActionExecuted)
            and event.action_name in cache.loop_names
            and not self._first_loop_execution_or_unhappy_path(event.action_name, applied)
        ):
            self._undo_till_previous_loop_execution(event.action_name, applied)
            cache.lineage = object()
        else:
            applied.append(event)
    cache.applied = applied
    cache.count = len(events)
    cache.last_event = events[-1] if events else None
    return list(applied)


def applied_events_lineage(tracker: DialogueStateTracker) -> object | None:
    """The lineage of the applied events the tracker's last ``applied_events()`` gave."""
    cache: _AppliedEvents | None = tracker.__dict__.get(APPLIED_ATTRIBUTE)
    return cache.lineage if cache is not None else None


def _rebuild_applied_events(tracker: DialogueStateTracker) -> list[Event]:
    applied = _original_applied_events(tracker)
    if not tracker._max_event_history:
        events = tracker.events
        tracker.__dict__[APPLIED_ATTRIBUTE] = _AppliedEvents(
            count=len(events),
            last_event=events[-1] if events else None,
            loop_names={e.name for e in events if isinstance(e, ActiveLoop) and e.name},
            applied=list(applied),
        )
    return applied


@dataclass
class LatestRestart:
    """``idx_after_latest_restart()`` of a tracker's first ``count`` events."""

    count: int
    last_event: Event | None
    index: int


def incremental_idx_after_latest_restart(self: DialogueStateTracker) -> int:
    """Drop-in for ``DialogueStateTracker.idx_after_latest_restart`` that scans new events only.

    Rasa's version walks back through every event looking for a restart; in a
    conversation without one that is all of them, with an ``isinstance`` check on an
    abstract class each (0.85 ms for 2,700 events), and forms ask for every slot
    validation. The index only changes when a restart arrives, so it is kept on the
    tracker and extended by the events added since, under the same identity guard as
    :func:`incremental_applied_events`.
    """
    if self._max_event_history:
        # Events fall off the front of a bounded history: positions shift.
        return _original_idx_after_latest_restart(self)
    events = self.events
    cache: LatestRestart | None = self.__dict__.get(RESTART_ATTRIBUTE)
    if (
        cache is None
        or cache.count > len(events)
        or (cache.count and events[cache.count - 1] is not cache.last_event)
    ):
        cache = LatestRestart(count=0, last_event=None, index=0)
    new_events = list(itertools.islice(reversed(events), len(events) - cache.count))
    for offset, event in enumerate(new_events):
        if isinstance(event, Restarted):
            # ``new_events`` runs newest first: this is the latest restart.
            cache.index = len(events) - offset
            break
    cache.count = len(events)
    cache.last_event = events[-1] if events else None
    self.__dict__[RESTART_ATTRIBUTE] = cache
    return cache.index


PATCH = Patch(
    name="applied_events",
    reason=__doc__,
    guarded_by={
        "tests/runtime/test_dialogue_states.py": (
            "test_states_equal_rasas_on_every_story_and_rule",
            "test_reverts_restarts_and_sessions_rewind_to_the_right_state",
            "test_a_loop_that_appears_later_refolds_the_earlier_events",
            "test_the_latest_restart_of_a_bounded_history_is_rasas",
        ),
    },
    versions={"rasa": "3.6.21"},
    replacements={
        "rasa.shared.core.trackers:DialogueStateTracker.applied_events": (
            incremental_applied_events
        ),
        "rasa.shared.core.trackers:DialogueStateTracker.idx_after_latest_restart": (
            incremental_idx_after_latest_restart
        ),
    },
)

"""Dialogue states computed once per event, not once per prediction.

Why a patch: Rasa's rule and memoization policies call
``DialogueStateTracker.past_states`` for every prediction, and Rasa 3.6 computes it by
replaying the whole session from its first event (``Domain.states_for_tracker_history``).
A turn therefore costs more the longer the conversation: in our soak test the 200th turn
took three times as long as the first, with ``past_states`` at 43% of the server's time.
Trackers are built by Rasa itself (no tracker class or state computation can be
configured), so the method is replaced by :func:`incremental_past_states`, which gives
the same list of states.

How: the states of a tracker only depend on its *applied* events (``applied_events()``),
which grow at the end as the conversation goes on. The tracker keeps what the replay had
reached: the applied events consumed, the states produced, the loop variables of
``states_for_tracker_history`` and a replay tracker, plus snapshots of that replay before
the last :data:`MAX_CHECKPOINTS` ``action_listen`` actions. A later call replays only the
new events. Applied events can also change near the end (a form's happy path folds its
previous turn away, a rephrase reverts the last message): the replay then resumes from
the latest snapshot before the first event that differs, or starts over if there is
none. Callers get copies because the featurizers edit states in place.
"""

from __future__ import annotations

import copy
import operator
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rasa.shared.core import constants as core_constants
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

from frontline.runtime.patch import Patch
from frontline.runtime.patches.applied_events import (
    applied_events_lineage,
    incremental_applied_events,
)
from frontline.runtime.tracker_objects import shallow_copy

# Snapshots kept per tracker, one per turn: the applied events change at most a form's
# last turns or a reverted message back; anything further starts the replay over.
MAX_CHECKPOINTS = 16
#: Where the replays live on a tracker (``tracker.__dict__``).
STATES_ATTRIBUTE = "_frontline_states_cache"

_original_past_states = DialogueStateTracker.past_states


@dataclass
class _Checkpoint:
    """Where the replay stood just before the action at ``applied_index``."""

    applied_index: int
    states_length: int
    last_ml_action_sub_state: Any
    turn_was_hidden: bool
    #: The replay tracker without its slots, which :attr:`slots` describes.
    replay: DialogueStateTracker
    slots: _SlotStates


@dataclass
class _Replay:
    """The replay of one tracker's applied events for one set of arguments."""

    domain: Domain
    omit_unset_slots: bool
    ignore_rule_only_turns: bool
    rule_only_data: dict[str, Any] | None
    replay: DialogueStateTracker
    applied: list[Event] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    last_ml_action_sub_state: Any = None
    turn_was_hidden: bool = False
    checkpoints: deque[_Checkpoint] = field(default_factory=lambda: deque(maxlen=MAX_CHECKPOINTS))
    #: The lineage (:func:`applied_events_lineage`) of the applied events of the last call.
    lineage: object | None = None

    def matches(
        self,
        domain: Domain,
        omit_unset_slots: bool,
        ignore_rule_only_turns: bool,
        rule_only_data: dict[str, Any] | None,
    ) -> bool:
        return (
            self.domain is domain
            and self.omit_unset_slots == omit_unset_slots
            and self.ignore_rule_only_turns == ignore_rule_only_turns
            and self.rule_only_data == rule_only_data
        )

    def states_for(
        self,
        applied: list[Event],
        template: DialogueStateTracker,
        tail: int | None = None,
        lineage: object | None = None,
    ) -> list[State]:
        """The states for ``applied`` (the last ``tail`` of them), replaying only what
        changed since the last call.

        ``lineage``, if given, is that of ``applied`` (:func:`applied_events_lineage`): when it
        is the last call's, ``applied`` only grew since, and the events replayed so far
        are its prefix without comparing them one by one.
        """
        if lineage is not None and lineage is self.lineage and len(self.applied) <= len(applied):
            common = len(self.applied)
        else:
            common = _common_prefix_length(self.applied, applied)
        self.lineage = lineage
        if common < len(self.applied):
            self._rewind(common, template)
        for event in applied[len(self.applied) :]:
            if isinstance(event, ActionExecuted):
                if event.action_name == ACTION_LISTEN_NAME:
                    # Once per turn is enough: a rewind may start further back and
                    # replay a few more events.
                    self.checkpoints.append(self._checkpoint())
                self._visit(self.replay, event.hide_rule_turn, self.states)
            self.replay.update(event)
            self.applied.append(event)
        # The state after the last event is recomputed on every call: the next event
        # decides whether it is hidden.
        final: list[State] = []
        saved = self.last_ml_action_sub_state, self.turn_was_hidden
        self._visit(self.replay, False, final, previous=self.states[-1] if self.states else None)
        self.last_ml_action_sub_state, self.turn_was_hidden = saved
        if tail is not None:
            kept = max(tail - len(final), 0)
            return _copy_states((self.states[-kept:] if kept else []) + final[-tail:])
        return _copy_states(self.states + final)

    def _visit(
        self,
        tracker: DialogueStateTracker,
        hide_rule_turn: bool,
        into: list[State],
        previous: State | None = None,
    ) -> None:
        """One step of ``Domain.states_for_tracker_history``'s loop (Rasa 3.6)."""
        domain = self.domain
        if self.ignore_rule_only_turns:
            if not self.turn_was_hidden:
                self.last_ml_action_sub_state = domain._get_prev_action_sub_state(tracker)
            if not tracker.followup_action and not (
                tracker.latest_action_name == tracker.active_loop_name
            ):
                self.turn_was_hidden = hide_rule_turn
            if self.turn_was_hidden:
                return
        state = domain.get_active_state(tracker, omit_unset_slots=self.omit_unset_slots)
        if self.ignore_rule_only_turns:
            domain._remove_rule_only_features(state, self.rule_only_data)
            last = into[-1] if into else previous
            if last is not None:
                domain._substitute_rule_only_user_input(state, last)
            if self.last_ml_action_sub_state:
                state[core_constants.PREVIOUS_ACTION] = self.last_ml_action_sub_state
        into.append(domain._clean_state(state))

    def _checkpoint(self) -> _Checkpoint:
        return _Checkpoint(
            applied_index=len(self.applied),
            states_length=len(self.states),
            last_ml_action_sub_state=self.last_ml_action_sub_state,
            turn_was_hidden=self.turn_was_hidden,
            replay=_snapshot(self.replay),
            slots=_SlotStates.of(self.replay.slots),
        )

    def _rewind(self, common: int, template: DialogueStateTracker) -> None:
        """Goes back to the latest snapshot at or before applied event ``common``."""
        while self.checkpoints and self.checkpoints[-1].applied_index > common:
            self.checkpoints.pop()
        if not self.checkpoints:
            self.replay = template.init_copy()
            self.applied, self.states = [], []
            self.last_ml_action_sub_state, self.turn_was_hidden = None, False
            return
        # The checkpoint is taken again when its action is replayed.
        point = self.checkpoints.pop()
        self.replay = _snapshot(point.replay)
        self.replay.slots = point.slots.restored()
        self.replay.events.extend(self.applied[: point.applied_index])
        del self.applied[point.applied_index :]
        del self.states[point.states_length :]
        self.last_ml_action_sub_state = point.last_ml_action_sub_state
        self.turn_was_hidden = point.turn_was_hidden


def _common_prefix_length(cached: list[Event], applied: list[Event]) -> int:
    # Events are compared by identity: a tracker handed over by the tracker store keeps
    # its event objects, and anything else simply replays again.
    limit = min(len(cached), len(applied))
    if limit and cached[limit - 1] is applied[limit - 1]:
        if all(map(operator.is_, cached[:limit], applied[:limit])):
            return limit
    for index in range(limit):
        if cached[index] is not applied[index]:
            return index
    return limit


@dataclass
class _SlotStates:
    """What a tracker's slots hold at a checkpoint, without copying the slot objects.

    A checkpoint is taken at every ``action_listen``, and most are never used; copying
    the 40 slot objects each time cost more than the rest of the replay. A slot's state
    at run time is its value and whether it was set (``Slot.value``, ``Slot.reset``);
    :meth:`restored` builds slot objects with those.
    """

    slots_class: type
    states: list[tuple[str, Any, Any, bool]]

    @classmethod
    def of(cls, slots: dict[str, Any]) -> _SlotStates:
        return cls(
            slots.__class__,
            [(name, slot, slot._value, slot._has_been_set) for name, slot in slots.items()],
        )

    def restored(self) -> dict[str, Any]:
        slots = self.slots_class()  # keeps Rasa's AnySlotDict
        for name, slot, value, has_been_set in self.states:
            clone = shallow_copy(slot)
            clone._value, clone._has_been_set = value, has_been_set
            slots[name] = clone
        return slots


def _snapshot(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """A copy of a replay tracker's state without its events (nobody reads them) and
    without its slots (the caller keeps or sets those: :class:`_SlotStates`)."""
    snapshot = shallow_copy(tracker)
    snapshot.events = tracker._create_events([])
    snapshot.slots = None
    snapshot.active_loop = copy.copy(tracker.active_loop)
    snapshot.latest_action = copy.copy(tracker.latest_action)
    return snapshot


def _copy_states(states: list[State]) -> list[State]:
    """Copies of the states that callers may edit, sharing what Rasa shares.

    The featurizers delete keys from the user sub-states (``text``, ``intent``,
    ``entities``) and nothing else, so each state and its user sub-state are copied and
    the other sub-states shared. Rasa shares one user sub-state between the states of a
    turn; the copies share theirs the same way.
    """
    user_copies: dict[int, dict[str, Any]] = {}
    result: list[State] = []
    for state in states:
        copied = dict(state)
        user = state.get(core_constants.USER)
        if user is not None:
            user_copy = user_copies.get(id(user))
            if user_copy is None:
                user_copy = user_copies[id(user)] = dict(user)
            copied[core_constants.USER] = user_copy
        result.append(copied)
    return result


def incremental_past_states(
    self: DialogueStateTracker,
    domain: Domain,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """Drop-in for ``DialogueStateTracker.past_states`` that replays only new events."""
    if self._max_event_history:
        # Old events fall off the front of the tracker: nothing stable to build on.
        return _original_past_states(
            self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data
        )
    replay = _replay_for(self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    applied = incremental_applied_events(self)
    return replay.states_for(applied, self, lineage=applied_events_lineage(self))


def tail_past_states(
    tracker: DialogueStateTracker,
    domain: Domain,
    tail: int,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """``tracker.past_states(...)[-tail:]``, copying only those states.

    Trackers that compute their states another way (training trackers, a tracker whose
    old events fall off) get exactly that expression.
    """
    if type(tracker).past_states is not incremental_past_states or tracker._max_event_history:
        return tracker.past_states(
            domain,
            ignore_rule_only_turns=ignore_rule_only_turns,
            rule_only_data=rule_only_data,
        )[-tail:]
    replay = _replay_for(tracker, domain, False, ignore_rule_only_turns, rule_only_data)
    applied = incremental_applied_events(tracker)
    return replay.states_for(applied, tracker, tail=tail, lineage=applied_events_lineage(tracker))


def _replay_for(
    self: DialogueStateTracker,
    domain: Domain,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: dict[str, Any] | None,
) -> _Replay:
    """The tracker's replay for these arguments, created on first use."""
    replays: list[_Replay] = self.__dict__.setdefault(STATES_ATTRIBUTE, [])
    replay = next(
        (
            r
            for r in replays
            if r.matches(domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        ),
        None,
    )
    if replay is None:
        replay = _Replay(
            domain,
            omit_unset_slots,
            ignore_rule_only_turns,
            copy.deepcopy(rule_only_data),
            self.init_copy(),
        )
        replays.append(replay)
    return replay


PATCH = Patch(
    name="past_states",
    reason=__doc__,
    guarded_by={
        "tests/runtime/test_dialogue_states.py": (
            "test_states_equal_rasas_on_every_story_and_rule",
            "test_editing_the_returned_states_does_not_change_later_results",
            "test_reverts_restarts_and_sessions_rewind_to_the_right_state",
            "test_several_events_between_calls_with_reverts_in_them_give_rasas_states",
        ),
    },
    versions={"rasa": "3.6.21"},
    replacements={
        "rasa.shared.core.trackers:DialogueStateTracker.past_states": incremental_past_states,
    },
)

"""Dialogue states computed once per event, not once per prediction.

Rasa's rule and memoization policies call ``DialogueStateTracker.past_states`` for every
prediction, and Rasa 3.6 computes it by replaying the whole session from its first event
(``Domain.states_for_tracker_history``). A turn therefore costs more the longer the
conversation is: in our soak test the 200th turn took three times as long as the first,
with ``past_states`` at 43% of the server's time.

The states of a tracker only depend on its *applied* events (``applied_events()``), which
grow at the end as the conversation goes on. This module keeps, on the tracker object,
what the replay had reached: the applied events consumed, the states produced, the loop
variables of ``states_for_tracker_history`` and a replay tracker, plus snapshots of that
replay before the last :data:`MAX_CHECKPOINTS` ``action_listen`` actions. A later call
replays only the new events. Applied events can also change near the end (a form's happy
path folds its previous turn away, a rephrase reverts the last message): the replay then
resumes from the latest snapshot before the first event that differs, or starts over if
there is none.

The result is the same list of states as Rasa's (``tests/frontline/
test_incremental_states.py`` compares them event by event on every story and rule of our
training data); callers get copies because the featurizers edit states in place.

Rasa also copies the tracker before every action by replaying all of its events;
:func:`copy_without_replay` copies its state instead, and forms' temporary
trackers for slot validation are made the same way (:func:`temporary_form_tracker`).

The rule policy then matches its rules against every state, newest first, parsing each
rule again per state; :func:`bounded_possible_rule_keys` stops once every remaining rule
is shorter than the distance reached, after which Rasa's check always passes.

Finally, the policies only use the newest states: memoization its ``max_history``, the
rule policy no more than its longest rule (further back every rule's check passes). Yet
each prediction receives a copy of every state of the session.
:func:`tail_prediction_states` hands the featurizer only the states it keeps, and
:func:`rule_horizon_prediction_states` hands the rule policy the states its rules can
reach, so a prediction costs the same at turn 300 as at turn 3.

``applied_events()`` itself, which Rasa also calls on its own several times per message
(session expiry, tracker serialisation), is folded incrementally the same way, and the
rule policy's debug line that formats every state is skipped while debug logging is off.
``idx_after_latest_restart()``, which forms ask for on every slot validation, is kept
up to date the same way (:func:`incremental_idx_after_latest_restart`), and tracker
copies start from it.
:func:`install` swaps the methods in; ``frontline.rasa_server`` calls it when it starts
Rasa.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import logging
import operator
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rasa.core.actions.forms import FormAction
from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
from rasa.core.policies.policy import Policy
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core import constants as core_constants
from rasa.shared.core.constants import (
    ACTION_LISTEN_NAME,
    REQUESTED_SLOT,
    SHOULD_NOT_BE_SET,
)
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ACTION_NAME

logger = logging.getLogger(__name__)

# Snapshots kept per tracker, one per turn: the applied events change at most a form's
# last turns or a reverted message back; anything further starts the replay over.
MAX_CHECKPOINTS = 16
_CACHE_ATTRIBUTE = "_frontline_states_cache"
_APPLIED_ATTRIBUTE = "_frontline_applied_events"
_RESTART_ATTRIBUTE = "_frontline_latest_restart"

_original_past_states = DialogueStateTracker.past_states
_original_applied_events = DialogueStateTracker.applied_events
_original_copy = DialogueStateTracker.copy
_original_idx_after_latest_restart = DialogueStateTracker.idx_after_latest_restart
_original_temporary_tracker = FormAction._temporary_tracker
_original_possible_rule_keys = RulePolicy._get_possible_keys
_original_format_tracker_states = Policy.format_tracker_states
_original_prediction_states = MaxHistoryTrackerFeaturizer.prediction_states
_original_rule_prediction_states = RulePolicy._prediction_states


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
    #: The lineage (see :class:`_AppliedEvents`) of the applied events of the last call.
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

        ``lineage``, if given, is that of ``applied`` (:class:`_AppliedEvents`): when it
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


def _shallow_copy(obj: Any) -> Any:
    """``copy.copy`` for plain objects (Rasa's slots and trackers), without its overhead."""
    clone = object.__new__(obj.__class__)
    clone.__dict__.update(obj.__dict__)
    return clone


def _copy_slots(slots: dict[str, Any]) -> dict[str, Any]:
    copied = slots.__class__()  # keeps Rasa's AnySlotDict
    copied.update({name: _shallow_copy(slot) for name, slot in slots.items()})
    return copied


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
            clone = _shallow_copy(slot)
            clone._value, clone._has_been_set = value, has_been_set
            slots[name] = clone
        return slots


def _snapshot(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """A copy of a replay tracker's state without its events (nobody reads them) and
    without its slots (the caller keeps or sets those: :class:`_SlotStates`)."""
    snapshot = _shallow_copy(tracker)
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
            copied[core_constants.USER] = user_copy  # type: ignore[literal-required]
        result.append(copied)  # type: ignore[arg-type]
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
    return replay.states_for(applied, self, lineage=_lineage(self))


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
    return replay.states_for(applied, tracker, tail=tail, lineage=_lineage(tracker))


def _lineage(tracker: DialogueStateTracker) -> object | None:
    """The lineage of the applied events the tracker's last ``applied_events()`` gave."""
    cache: _AppliedEvents | None = tracker.__dict__.get(_APPLIED_ATTRIBUTE)
    return cache.lineage if cache is not None else None


def _replay_for(
    self: DialogueStateTracker,
    domain: Domain,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: dict[str, Any] | None,
) -> _Replay:
    """The tracker's replay for these arguments, created on first use."""
    replays: list[_Replay] = self.__dict__.setdefault(_CACHE_ATTRIBUTE, [])
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


@dataclass
class _AppliedEvents:
    """``applied_events()`` of a tracker's first ``count`` events.

    ``lineage`` is replaced whenever ``applied`` changes other than by appending (a
    restart, a revert, a folded loop execution): lists returned under one lineage are
    prefixes of each other, which spares :meth:`_Replay.states_for` comparing them.
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
    cache: _AppliedEvents | None = self.__dict__.get(_APPLIED_ATTRIBUTE)
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


def _rebuild_applied_events(tracker: DialogueStateTracker) -> list[Event]:
    applied = _original_applied_events(tracker)
    if not tracker._max_event_history:
        events = tracker.events
        tracker.__dict__[_APPLIED_ATTRIBUTE] = _AppliedEvents(
            count=len(events),
            last_event=events[-1] if events else None,
            loop_names={e.name for e in events if isinstance(e, ActiveLoop) and e.name},
            applied=list(applied),
        )
    return applied


@dataclass
class _LatestRestart:
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
    cache: _LatestRestart | None = self.__dict__.get(_RESTART_ATTRIBUTE)
    if (
        cache is None
        or cache.count > len(events)
        or (cache.count and events[cache.count - 1] is not cache.last_event)
    ):
        cache = _LatestRestart(count=0, last_event=None, index=0)
    new_events = list(itertools.islice(reversed(events), len(events) - cache.count))
    for offset, event in enumerate(new_events):
        if isinstance(event, Restarted):
            # ``new_events`` runs newest first: this is the latest restart.
            cache.index = len(events) - offset
            break
    cache.count = len(events)
    cache.last_event = events[-1] if events else None
    self.__dict__[_RESTART_ATTRIBUTE] = cache
    return cache.index


def copy_without_replay(self: DialogueStateTracker) -> DialogueStateTracker:
    """Drop-in for ``DialogueStateTracker.copy`` that copies the state, not the history.

    Rasa copies the tracker before every action (to discard the policy's events if the
    action is rejected) by replaying all its events into a new tracker. The tracker's
    state is, by Rasa's own contract, what replaying its events gives, so copying that
    state is the same tracker; as in Rasa's copy, model and assistant ids and the
    sender source are not carried over.
    """
    if type(self) is not DialogueStateTracker:
        return _original_copy(self)  # subclasses may hold more state
    clone = _shallow_copy(self)
    clone.__dict__.pop(_CACHE_ATTRIBUTE, None)
    clone.__dict__.pop(_APPLIED_ATTRIBUTE, None)
    clone.events = self._create_events(list(self.events))
    if not self._max_event_history:
        # Rasa runs each action, and a form's slot validation, on a copy: the index is
        # brought up to date on the tracker, which lives on from turn to turn, and the
        # clone (same event objects) starts from it.
        incremental_idx_after_latest_restart(self)
        restart = self.__dict__[_RESTART_ATTRIBUTE]
        clone.__dict__[_RESTART_ATTRIBUTE] = _LatestRestart(
            restart.count, restart.last_event, restart.index
        )
    clone.slots = _copy_slots(self.slots)
    clone.active_loop = copy.copy(self.active_loop)
    clone.latest_action = copy.copy(self.latest_action)
    clone.model_id = None
    clone.assistant_id = None
    clone.sender_source = None
    return clone


def temporary_form_tracker(
    self: FormAction,
    current_tracker: DialogueStateTracker,
    additional_events: list[Event],
    domain: Domain,
) -> DialogueStateTracker:
    """Drop-in for ``FormAction._temporary_tracker`` that copies instead of replaying.

    A form builds this tracker for every slot validation, in Rasa 3.6 by replaying every
    event since the latest restart. The copy holds the same events and state; the
    events the form adds are applied to it as Rasa would.
    """
    if type(current_tracker) is not DialogueStateTracker:
        return _original_temporary_tracker(self, current_tracker, additional_events, domain)
    tracker = copy_without_replay(current_tracker)
    tracker._max_event_history = None
    tracker.events = tracker._create_events(current_tracker.events_after_latest_restart())
    for event in [
        # As Rasa's: the requested slot belongs to this form, and the form's execution
        # marks where the new events start.
        SlotSet(REQUESTED_SLOT, self.get_slot_to_fill(current_tracker)),
        ActionExecuted(self.name()),
        *additional_events,
    ]:
        tracker.update(event, domain)
    return tracker


@functools.lru_cache(maxsize=4096)
def _rule_length(rule_key: str) -> int:
    return len(json.loads(rule_key))


def bounded_possible_rule_keys(
    self: RulePolicy, lookup: dict[str, str], states: list[State]
) -> set[str]:
    """Drop-in for ``RulePolicy._get_possible_keys`` that stops where the rules end.

    Rasa checks every rule against every state of the conversation, newest first, and
    parses the rule's JSON key again for each check. A rule is applicable at every turn
    further back than its own length, so once the remaining rules are all shorter than
    the distance reached, nothing can change and the walk stops. The newest state is only
    checked against the rules that may follow its action (:func:`_rules_that_may_follow`).
    """
    if not states:
        return set(lookup.keys())
    possible_keys = _rules_that_may_follow(self, lookup, states[-1])
    for index, state in enumerate(reversed(states)):
        if all(index >= _rule_length(key) for key in possible_keys):
            break
        possible_keys = {
            key for key in possible_keys if self._is_rule_applicable(key, index, state)
        }
    return possible_keys


@dataclass
class _RulesByLastAction:
    """A rule lookup's keys grouped by the action their last state follows."""

    lookup: dict[str, str]
    size: int
    by_action: dict[str, list[str]]
    #: Rules whose last state names no action (conversation starts, action texts).
    unindexed: list[str]


def _rules_that_may_follow(
    policy: RulePolicy, lookup: dict[str, str], newest_state: State
) -> set[str]:
    """The rules that can match ``newest_state``: those after its action, and the rest.

    A rule's last state that names a previous action only matches a conversation state
    after the same action (``RulePolicy._is_rule_applicable`` at index 0), so the other
    rules (most of them: 186 rules follow 60 different actions) need no check. The rules
    kept are still checked in full.
    """
    index = policy.__dict__.get("_frontline_rules_by_last_action", {}).get(id(lookup))
    # Training pops rules from the lookup while it predicts: rebuilt when it shrinks.
    if index is None or index.lookup is not lookup or index.size != len(lookup):
        index = _index_rules_by_last_action(lookup)
        policy.__dict__.setdefault("_frontline_rules_by_last_action", {})[id(lookup)] = index
    action = newest_state.get(core_constants.PREVIOUS_ACTION, {}).get(ACTION_NAME)
    return {*index.by_action.get(action, ()), *index.unindexed}


def _index_rules_by_last_action(lookup: dict[str, str]) -> _RulesByLastAction:
    by_action: dict[str, list[str]] = {}
    unindexed: list[str] = []
    for key in lookup:
        rule_states = RulePolicy._rule_key_to_state(key)
        last_state = rule_states[-1] if rule_states else {}
        action = last_state.get(core_constants.PREVIOUS_ACTION, {}).get(ACTION_NAME)
        if isinstance(action, str) and action and action != SHOULD_NOT_BE_SET:
            by_action.setdefault(action, []).append(key)
        else:
            unindexed.append(key)
    return _RulesByLastAction(lookup, len(lookup), by_action, unindexed)


def tail_prediction_states(
    self: MaxHistoryTrackerFeaturizer,
    trackers: list[DialogueStateTracker],
    domain: Domain,
    use_text_for_last_user_input: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
    ignore_action_unlikely_intent: bool = False,
    keep: int | None = None,
) -> list[list[State]]:
    """Drop-in for ``MaxHistoryTrackerFeaturizer.prediction_states`` that computes only
    the states it returns: the last ``max_history`` (or ``keep``) of each tracker.

    Rasa computes and copies every state of the session, then slices. With
    ``ignore_action_unlikely_intent`` states are removed before slicing, so twice as many
    are taken and, should that not leave enough, every state, as Rasa does.
    """
    keep = keep or self.max_history
    if not keep:
        return _original_prediction_states(
            self,
            trackers,
            domain,
            use_text_for_last_user_input,
            ignore_rule_only_turns,
            rule_only_data,
            ignore_action_unlikely_intent,
        )
    taken = 2 * keep if ignore_action_unlikely_intent else keep
    trackers_as_states = []
    for tracker in trackers:
        states = tail_past_states(tracker, domain, taken, ignore_rule_only_turns, rule_only_data)
        if ignore_action_unlikely_intent:
            cut = len(states) == taken
            states = self._remove_action_unlikely_intent_from_states(states)
            if cut and len(states) < keep:
                states = self._remove_action_unlikely_intent_from_states(
                    tracker.past_states(
                        domain,
                        ignore_rule_only_turns=ignore_rule_only_turns,
                        rule_only_data=rule_only_data,
                    )
                )
        trackers_as_states.append(self.slice_state_history(states, keep))
    self._choose_last_user_input(trackers_as_states, use_text_for_last_user_input)
    return trackers_as_states


def _rule_horizon(policy: RulePolicy) -> int:
    """How far back any of the policy's rules can look, plus one state."""
    horizon = policy.__dict__.get("_frontline_rule_horizon")
    if horizon is None:
        keys = itertools.chain.from_iterable(
            (policy.lookup.get(name) or {}).keys()
            for name in ("rules", "rules_for_loop_unhappy_path")
        )
        horizon = max((_rule_length(key) for key in keys), default=0) + 1
        policy.__dict__["_frontline_rule_horizon"] = horizon
    return horizon


def rule_horizon_prediction_states(
    self: RulePolicy,
    tracker: DialogueStateTracker,
    domain: Domain,
    use_text_for_last_user_input: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """Drop-in for ``RulePolicy._prediction_states`` with the states its rules can reach.

    A rule is checked against the newest states only as far back as it is long; further
    back it always passes (:func:`bounded_possible_rule_keys`), so older states cannot
    change which rules match. Training trackers get Rasa's full states: there the policy
    also uses the whole conversation's key to find rules that stories contradict.
    """
    if isinstance(tracker, TrackerWithCachedStates) or not isinstance(
        self.featurizer, MaxHistoryTrackerFeaturizer
    ):
        return _original_rule_prediction_states(
            self, tracker, domain, use_text_for_last_user_input, rule_only_data
        )
    return tail_prediction_states(
        self.featurizer,
        [tracker],
        domain,
        use_text_for_last_user_input=use_text_for_last_user_input,
        rule_only_data=rule_only_data,
        keep=_rule_horizon(self),
    )[0]


def lazy_format_tracker_states(states: list[dict]) -> str:
    """``Policy.format_tracker_states``, skipped when its debug log is off.

    The rule policy formats every state of the conversation for a debug log line on each
    prediction, whether or not debug logging is on.
    """
    if not logging.getLogger("rasa.core.policies").isEnabledFor(logging.DEBUG):
        return ""
    return _original_format_tracker_states(states)


def install() -> None:
    """Makes Rasa compute dialogue states incrementally (idempotent)."""
    DialogueStateTracker.past_states = incremental_past_states  # type: ignore[method-assign]
    DialogueStateTracker.applied_events = incremental_applied_events  # type: ignore
    DialogueStateTracker.copy = copy_without_replay  # type: ignore[method-assign]
    DialogueStateTracker.idx_after_latest_restart = incremental_idx_after_latest_restart  # type: ignore
    FormAction._temporary_tracker = temporary_form_tracker  # type: ignore[method-assign]
    RulePolicy._get_possible_keys = bounded_possible_rule_keys  # type: ignore[method-assign]
    Policy.format_tracker_states = staticmethod(lazy_format_tracker_states)  # type: ignore
    MaxHistoryTrackerFeaturizer.prediction_states = tail_prediction_states  # type: ignore
    RulePolicy._prediction_states = rule_horizon_prediction_states  # type: ignore
    logger.debug("Dialogue states are computed incrementally")


def uninstall() -> None:
    """Restores Rasa's own methods (tests)."""
    DialogueStateTracker.past_states = _original_past_states  # type: ignore[method-assign]
    DialogueStateTracker.applied_events = _original_applied_events  # type: ignore
    DialogueStateTracker.copy = _original_copy  # type: ignore[method-assign]
    DialogueStateTracker.idx_after_latest_restart = _original_idx_after_latest_restart  # type: ignore
    FormAction._temporary_tracker = _original_temporary_tracker  # type: ignore
    RulePolicy._get_possible_keys = _original_possible_rule_keys  # type: ignore
    Policy.format_tracker_states = staticmethod(_original_format_tracker_states)  # type: ignore
    MaxHistoryTrackerFeaturizer.prediction_states = _original_prediction_states  # type: ignore
    RulePolicy._prediction_states = _original_rule_prediction_states  # type: ignore

"""Tracker copies that copy the tracker's state instead of replaying its events.

Why a patch: Rasa copies the tracker before every action (to discard the policy's
events if the action is rejected) with ``DialogueStateTracker.copy``, which replays
every event of the conversation into a new tracker; and a form builds a temporary
tracker for every slot validation (``FormAction._temporary_tracker``) by replaying every
event since the latest restart. Both cost more the longer the conversation, and neither
is reachable through configuration. :func:`copy_without_replay` copies the state that
replay would produce (by Rasa's own contract, a tracker's state is what replaying its
events gives), and :func:`temporary_form_tracker` starts from such a copy and applies
the form's events as Rasa would. Subclasses of the tracker (training's trackers) keep
Rasa's methods.
"""

from __future__ import annotations

import copy

from rasa.core.actions.forms import FormAction
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from frontline.runtime.patch import Patch
from frontline.runtime.patches.applied_events import (
    APPLIED_ATTRIBUTE,
    RESTART_ATTRIBUTE,
    LatestRestart,
    incremental_idx_after_latest_restart,
)
from frontline.runtime.patches.past_states import STATES_ATTRIBUTE
from frontline.runtime.tracker_objects import copy_slots, shallow_copy

_original_copy = DialogueStateTracker.copy
_original_temporary_tracker = FormAction._temporary_tracker


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
    clone = shallow_copy(self)
    clone.__dict__.pop(STATES_ATTRIBUTE, None)
    clone.__dict__.pop(APPLIED_ATTRIBUTE, None)
    clone.events = self._create_events(list(self.events))
    if not self._max_event_history:
        # Rasa runs each action, and a form's slot validation, on a copy: the index is
        # brought up to date on the tracker, which lives on from turn to turn, and the
        # clone (same event objects) starts from it.
        incremental_idx_after_latest_restart(self)
        restart = self.__dict__[RESTART_ATTRIBUTE]
        clone.__dict__[RESTART_ATTRIBUTE] = LatestRestart(
            restart.count, restart.last_event, restart.index
        )
    clone.slots = copy_slots(self.slots)
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


PATCH = Patch(
    name="tracker_copy",
    reason=__doc__,
    guarded_by={
        "tests/runtime/test_dialogue_states.py": (
            "test_a_copy_without_replay_equals_rasas_copy_and_is_independent",
            "test_a_forms_temporary_tracker_equals_rasas",
        ),
    },
    versions={"rasa": "3.6.21"},
    replacements={
        "rasa.shared.core.trackers:DialogueStateTracker.copy": copy_without_replay,
        "rasa.core.actions.forms:FormAction._temporary_tracker": temporary_form_tracker,
    },
)

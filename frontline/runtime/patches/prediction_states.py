"""The policies handed only the dialogue states they can use.

Why a patch: the memoization policy uses its last ``max_history`` states and the rule
policy no further back than its longest rule, yet Rasa 3.6 computes and copies every
state of the session for each prediction (``MaxHistoryTrackerFeaturizer.prediction_states``,
``RulePolicy._prediction_states``) and only then slices, six predictions per turn. The
featurizer is built by the policies themselves, not configured; subclasses of the
policies would override the same private methods and change the policies' names, which
predictions and decision records carry.
:func:`tail_prediction_states` computes only the states it returns and
:func:`rule_horizon_prediction_states` hands the rule policy the states its rules can
reach (further back every rule's check passes), so a prediction costs the same at turn
300 as at turn 3. Training trackers get Rasa's full states.
"""

from __future__ import annotations

import itertools
from typing import Any

from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from frontline.runtime.patch import Patch
from frontline.runtime.patches.past_states import tail_past_states
from frontline.runtime.patches.rule_matching import rule_length

_original_prediction_states = MaxHistoryTrackerFeaturizer.prediction_states
_original_rule_prediction_states = RulePolicy._prediction_states


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
        horizon = max((rule_length(key) for key in keys), default=0) + 1
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


PATCH = Patch(
    name="prediction_states",
    reason=__doc__,
    guarded_by={
        "tests/runtime/test_dialogue_states.py": (
            "test_policies_handed_only_the_states_they_use_predict_as_with_all",
            "test_the_tail_of_the_states_is_the_tail_of_all_states",
        ),
    },
    versions={"rasa": "3.6.21"},
    replacements={
        "rasa.core.featurizers.tracker_featurizers:MaxHistoryTrackerFeaturizer"
        ".prediction_states": tail_prediction_states,
        "rasa.core.policies.rule_policy:RulePolicy._prediction_states": (
            rule_horizon_prediction_states
        ),
    },
)

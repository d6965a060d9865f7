"""The rule policy's matching of rules, stopped where the rules end.

Why a patch: Rasa's ``RulePolicy._get_possible_keys`` checks every rule against every
state of the conversation, newest first, and parses the rule's JSON key again for each
check, so each prediction costs more the longer the conversation. A subclass named in
``config.yml`` would override the same private method and change the policy's name,
which predictions, decision records and the audit's reading of ``config.yml``
(``frontline/audit/decisions.py``) carry. A rule applies at every
turn further back than its own length, so :func:`bounded_possible_rule_keys` stops once
every remaining rule is shorter than the distance reached, after which Rasa's check
always passes; and the newest state is only checked against the rules that may follow
its action. The rules kept are still checked in full by Rasa's own
``_is_rule_applicable``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core import constants as core_constants
from rasa.shared.core.constants import SHOULD_NOT_BE_SET
from rasa.shared.core.domain import State
from rasa.shared.nlu.constants import ACTION_NAME

from frontline.runtime.patch import Patch


@functools.lru_cache(maxsize=4096)
def rule_length(rule_key: str) -> int:
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
        if all(index >= rule_length(key) for key in possible_keys):
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


PATCH = Patch(
    name="rule_matching",
    reason=__doc__,
    guarded_by={
        "tests/runtime/test_dialogue_states.py": (
            "test_rule_matching_stops_where_the_rules_end_with_rasas_result",
        ),
    },
    versions={"rasa": "3.6.21"},
    replacements={
        "rasa.core.policies.rule_policy:RulePolicy._get_possible_keys": (
            bounded_possible_rule_keys
        ),
    },
)

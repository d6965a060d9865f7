"""Dialogue states, tracker copies and rule matching equal Rasa's own (the patches
applied_events, past_states, tracker_copy, rule_matching and prediction_states).

Every story and rule of our training data and every test story is grown event by event
into a tracker; after each event the incremental states must equal what Rasa 3.6
computes from scratch, for each set of arguments the policies use. Reverts, restarts and
new sessions are mixed in to exercise the rewinds.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from rasa.core.actions.forms import FormAction
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
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
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.importers.importer import TrainingDataImporter

from frontline.runtime.patches import (
    applied_events,
    past_states,
    prediction_states,
    rule_matching,
    tracker_copy,
)
from frontline.runtime.patches.applied_events import (
    incremental_applied_events,
    incremental_idx_after_latest_restart,
)
from frontline.runtime.patches.past_states import MAX_CHECKPOINTS, incremental_past_states
from frontline.runtime.patches.rule_matching import bounded_possible_rule_keys
from frontline.runtime.patches.tracker_copy import copy_without_replay, temporary_form_tracker
from frontline.runtime.registry import load_patches
from tests.support.processes import REPO_ROOT
from tests.support.stories import STORY_FOLDERS, story_events, story_trackers


@pytest.fixture(scope="module")
def conversations(domain: Domain) -> list[list[Event]]:
    """The events of every training story, rule and test story, as Rasa generates them."""
    conversations = story_events(domain)
    assert len(conversations) > 100  # the data really was read
    return conversations


def _argument_sets(domain: Domain) -> list[dict]:
    rule_only = {
        "rule_only_slots": [slot.name for slot in domain.slots][:3],
        "rule_only_loops": list(domain.form_names)[:1],
    }
    return [
        {},
        {"omit_unset_slots": True},
        {"ignore_rule_only_turns": True, "rule_only_data": rule_only},
        {"ignore_rule_only_turns": True, "rule_only_data": None},
    ]


def _assert_grows_like_rasa(
    domain: Domain, events: list[Event], arguments: list[dict], edit_results: bool = False
) -> None:
    tracker = DialogueStateTracker("sender", domain.slots)
    for event in events:
        tracker.update(event)
        assert incremental_applied_events(tracker) == DialogueStateTracker.applied_events(tracker)
        assert incremental_idx_after_latest_restart(
            tracker
        ) == DialogueStateTracker.idx_after_latest_restart(tracker)
        for kwargs in arguments:
            expected = domain.states_for_tracker_history(tracker, **kwargs)
            got = incremental_past_states(tracker, domain, **kwargs)
            assert got == expected, (event, kwargs)
            if edit_results:
                # What the featurizers do to the states they are given.
                for state in got:
                    state.get("user", {}).pop("text", None)
                got.clear()


def test_states_equal_rasas_on_every_story_and_rule(domain, conversations):
    arguments = _argument_sets(domain)
    for events in conversations:
        _assert_grows_like_rasa(domain, events, arguments)


def test_editing_the_returned_states_does_not_change_later_results(domain, conversations):
    longest = sorted(conversations, key=len)[-20:]
    for events in longest:
        _assert_grows_like_rasa(domain, events, _argument_sets(domain), edit_results=True)


def test_reverts_restarts_and_sessions_rewind_to_the_right_state(domain, conversations):
    rng = random.Random(7)
    interruptions = [
        lambda: UserUtteranceReverted(),
        lambda: ActionReverted(),
        lambda: Restarted(),
        lambda: SessionStarted(),
    ]
    for events in rng.sample(conversations, 60):
        mixed: list[Event] = []
        for event in events:
            mixed.append(event)
            if rng.random() < 0.08:
                mixed.append(rng.choice(interruptions)())
        _assert_grows_like_rasa(domain, mixed, _argument_sets(domain))


def test_several_events_between_calls_with_reverts_in_them_give_rasas_states(domain, conversations):
    # A turn adds several events before the policies ask again; a revert among them
    # followed by new events leaves the applied events longer than before, but no
    # longer a continuation of what was replayed.
    rng = random.Random(11)
    interruptions = [UserUtteranceReverted, ActionReverted, Restarted, SessionStarted]
    arguments = _argument_sets(domain)
    for events in rng.sample(conversations, 80):
        tracker = DialogueStateTracker("sender", domain.slots)
        pending = 0
        for event in events:
            tracker.update(event)
            if rng.random() < 0.1:
                tracker.update(rng.choice(interruptions)())
            pending += 1
            if pending < rng.randint(1, 6):
                continue
            pending = 0
            for kwargs in arguments:
                expected = domain.states_for_tracker_history(tracker, **kwargs)
                assert incremental_past_states(tracker, domain, **kwargs) == expected


def test_a_long_conversation_replays_only_new_events(domain, conversations, monkeypatch):
    # Twenty stories back to back without a session start: one long conversation.
    events = [e for conversation in _enough(conversations, 400) for e in conversation]
    events = [e for e in events if not isinstance(e, (SessionStarted, Restarted))]
    tracker = DialogueStateTracker("sender", domain.slots)
    visits = 0
    original_visit = past_states._Replay._visit

    def counting_visit(self, *args, **kwargs):
        nonlocal visits
        visits += 1
        return original_visit(self, *args, **kwargs)

    monkeypatch.setattr(past_states._Replay, "_visit", counting_visit)
    for event in events:
        tracker.update(event)
        incremental_past_states(tracker, domain)
    actions = sum(isinstance(e, ActionExecuted) for e in events)
    # One visit per action plus the final state of each call; from scratch it would be
    # quadratic in the number of actions.
    assert visits <= actions + len(events) + MAX_CHECKPOINTS * 4
    assert incremental_past_states(tracker, domain) == domain.states_for_tracker_history(tracker)


def _tracker_state(tracker: DialogueStateTracker) -> dict:
    return {
        **tracker.current_state(EventVerbosity.ALL),
        "model_id": tracker.model_id,
        "sender_source": tracker.sender_source,
        "slot_values": {name: slot.value for name, slot in tracker.slots.items()},
    }


def _without_times(state: dict) -> dict:
    # The events the form adds are made anew, with their own timestamps, by each.
    events = [{k: v for k, v in e.items() if k != "timestamp"} for e in state["events"]]
    return {**state, "events": events, "latest_event_time": None}


def test_a_copy_without_replay_equals_rasas_copy_and_is_independent(domain, conversations):
    for events in conversations:
        tracker = DialogueStateTracker("sender", domain.slots)
        tracker.model_id = "model-1"
        for event in events:
            tracker.update(event)
            clone = copy_without_replay(tracker)
            assert _tracker_state(clone) == _tracker_state(DialogueStateTracker.copy(tracker))
        before = _tracker_state(tracker)
        clone.update(SlotSet(next(iter(tracker.slots)), "changed"))
        clone.update(ActiveLoop(None))
        clone.update(ActionExecuted("action_listen"))
        assert _tracker_state(tracker) == before


def test_a_forms_temporary_tracker_equals_rasas(domain, conversations):
    checked = 0
    for events in conversations:
        tracker = DialogueStateTracker("sender", domain.slots)
        for event in events:
            tracker.update(event)
            if not tracker.active_loop_name:
                continue
            form = FormAction(tracker.active_loop_name, None)
            extra = [SlotSet("requested_slot", None), ActionExecuted("action_listen")]
            ours = temporary_form_tracker(form, tracker, extra, domain)
            rasas = FormAction._temporary_tracker(form, tracker, extra, domain)
            assert _without_times(_tracker_state(ours)) == _without_times(_tracker_state(rasas))
            checked += 1
    assert checked > 100


def test_rule_matching_stops_where_the_rules_end_with_rasas_result(conversations, tmp_path):
    # The domain as training sees it (with the FAQ and small-talk answers' actions).
    domain = TrainingDataImporter.load_from_config(
        str(REPO_ROOT / "config.yml"), str(REPO_ROOT / "domain"), [str(REPO_ROOT / "data")]
    ).get_domain()
    config = {**RulePolicy.get_default_config(), "core_fallback_action_name": "action_fallback"}
    policy = RulePolicy.create(
        config,
        LocalModelStorage(tmp_path),
        Resource("rule_policy"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    policy.train(story_trackers(domain, STORY_FOLDERS[:2], remove_duplicates=True), domain)
    lookups = [policy.lookup["rules"], policy.lookup.get("rules_for_loop_unhappy_path", {})]
    assert len(lookups[0]) > 20
    # The stories back to back: conversations much longer than any rule.
    long_events = [
        e
        for events in _enough(conversations, 900)
        for e in events
        if not isinstance(e, (SessionStarted, Restarted))
    ]
    tracker = DialogueStateTracker("sender", domain.slots)
    matched: set[str] = set()
    for event in long_events:
        tracker.update(event)
        states = policy._prediction_states(
            tracker, domain, rule_only_data=policy._get_rule_only_data()
        )
        for lookup in lookups:
            expected = RulePolicy._get_possible_keys(policy, lookup, states)
            assert bounded_possible_rule_keys(policy, lookup, states) == expected
            matched |= expected
    assert len(states) > 200
    # Many different rules matched on the way, in both lookups.
    assert len(matched & set(lookups[0])) > 10
    assert matched & set(lookups[1])


@pytest.fixture(scope="module")
def training_domain() -> Domain:
    """The domain as training sees it (with the FAQ and small-talk answers' actions)."""
    return TrainingDataImporter.load_from_config(
        str(REPO_ROOT / "config.yml"), str(REPO_ROOT / "domain"), [str(REPO_ROOT / "data")]
    ).get_domain()


def _trained(policy_class, config: dict, domain: Domain, tmp_path, folders) -> Any:
    tmp_path.mkdir()
    policy = policy_class.create(
        {**policy_class.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource(policy_class.__name__),
        ExecutionContext(GraphSchema({}), "test"),
    )
    policy.train(story_trackers(domain, folders, remove_duplicates=True), domain)
    return policy


def _prediction(policy, tracker: DialogueStateTracker, domain: Domain, rule_only: dict) -> tuple:
    prediction = policy.predict_action_probabilities(tracker, domain, rule_only_data=rule_only)
    return (
        prediction.probabilities,
        prediction.events,
        prediction.hide_rule_turn,
        prediction.is_end_to_end_prediction,
        prediction.is_no_user_prediction,
    )


def test_policies_handed_only_the_states_they_use_predict_as_with_all(
    training_domain, conversations, tmp_path
):
    domain = training_domain
    rules = _trained(
        RulePolicy,
        {"core_fallback_action_name": "action_fallback", "restrict_rules": False},
        domain,
        tmp_path / "rules",
        STORY_FOLDERS[:2],
    )
    memo = _trained(MemoizationPolicy, {"max_history": 4}, domain, tmp_path / "memo", STORY_FOLDERS)
    assert prediction_states._rule_horizon(rules) > 3
    rule_only = rules._get_rule_only_data()  # as the graph hands it to every policy
    # The stories back to back: conversations far longer than any rule or memory.
    long_events = [
        e
        for events in conversations[:60]
        for e in events
        if not isinstance(e, (SessionStarted, Restarted))
    ]
    patches = [
        module.PATCH
        for module in (applied_events, past_states, tracker_copy, rule_matching, prediction_states)
    ]
    for patch in patches:
        patch.apply()
    try:
        tracker = DialogueStateTracker("sender", domain.slots)
        compared = 0
        for event in long_events:
            tracker.update(event)
            if not isinstance(event, (ActionExecuted, UserUttered)):
                continue
            handed_tail = [_prediction(p, tracker, domain, rule_only) for p in (rules, memo)]
            prediction_states.PATCH.revert()
            handed_all = [_prediction(p, tracker, domain, rule_only) for p in (rules, memo)]
            prediction_states.PATCH.apply()
            assert handed_tail == handed_all, event
            compared += 1
    finally:
        for patch in reversed(patches):
            patch.revert()
    assert compared > 500
    assert len(tracker.past_states(domain)) > 10 * prediction_states._rule_horizon(rules)


def test_the_tail_of_the_states_is_the_tail_of_all_states(domain, conversations):
    longest = sorted(conversations, key=len)[-10:]
    for events in longest:
        tracker = DialogueStateTracker("sender", domain.slots)
        for event in events:
            tracker.update(event)
            for tail in (1, 4, 9):
                expected = domain.states_for_tracker_history(tracker)[-tail:]
                assert past_states.tail_past_states(tracker, domain, tail) == expected


def test_a_loop_that_appears_later_refolds_the_earlier_events(domain):
    # A form's name decides how its executions fold: an execution seen before the
    # form's ActiveLoop event must be folded again once it appears.
    form = next(iter(domain.form_names))
    tracker = DialogueStateTracker("sender", domain.slots)
    for event in [
        ActionExecuted("action_listen"),
        ActionExecuted(form),
        ActionExecuted("action_listen"),
        ActionExecuted(form),
    ]:
        tracker.update(event)
        incremental_applied_events(tracker)
    tracker.update(ActiveLoop(form))
    tracker.update(ActionExecuted(form))
    assert incremental_applied_events(tracker) == DialogueStateTracker.applied_events(tracker)


def _enough(conversations: list, events: int) -> list:
    """The first conversations, as many as hold ``events`` events (the stories' order and
    lengths change with the training data)."""
    taken, total = [], 0
    for conversation in conversations:
        if total >= events:
            break
        taken.append(conversation)
        total += len(conversation)
    return taken


def test_the_latest_restart_is_found_by_scanning_only_new_events(
    domain, conversations, monkeypatch
):
    scanned: list[Event] = []

    class CountingChecks(type):
        def __instancecheck__(cls, instance: object) -> bool:
            scanned.append(instance)
            return isinstance(instance, Restarted)

    monkeypatch.setattr(applied_events, "Restarted", CountingChecks("Restarted", (), {}))
    events = [e for conversation in _enough(conversations, 600) for e in conversation]
    events = [e for e in events if not isinstance(e, Restarted)]
    tracker = DialogueStateTracker("sender", domain.slots)
    for event in events:
        tracker.update(event)
    assert incremental_idx_after_latest_restart(tracker) == 0
    assert len(scanned) == len(tracker.events) > 300

    scanned.clear()
    tracker.update(Restarted())
    tracker.update(ActionExecuted("action_listen"))
    assert incremental_idx_after_latest_restart(tracker) == len(tracker.events) - 1
    assert len(scanned) == 2
    scanned.clear()
    assert incremental_idx_after_latest_restart(tracker) == len(tracker.events) - 1
    assert scanned == []
    # Rasa runs every action on a copy of the tracker, which lives on: the copy starts
    # from what was scanned, and the tracker keeps it for the next copy.
    tracker.update(ActionExecuted("action_listen"))
    clone = copy_without_replay(tracker)
    assert len(scanned) == 1
    clone.update(ActionExecuted("action_listen"))
    assert incremental_idx_after_latest_restart(clone) == len(tracker.events) - 2
    assert len(scanned) == 2
    assert incremental_idx_after_latest_restart(tracker) == len(tracker.events) - 2
    assert len(scanned) == 2


def test_the_latest_restart_of_a_bounded_history_is_rasas(domain):
    tracker = DialogueStateTracker("sender", domain.slots, max_event_history=5)
    for event in [ActionExecuted("action_listen"), Restarted()] + [
        ActionExecuted("action_listen") for _ in range(8)
    ]:
        tracker.update(event)
        assert incremental_idx_after_latest_restart(
            tracker
        ) == DialogueStateTracker.idx_after_latest_restart(tracker)


def _unordered(lookup: dict) -> dict:
    """RulePolicy's lookup with the lists Rasa fills from sets sorted.

    ``rule_only_loops`` and ``rules_not_in_stories`` come from set iteration, whose order
    depends on the process's string hashes, not on what was trained.
    """
    return {
        key: sorted(value) if isinstance(value, list) else value for key, value in lookup.items()
    }


def test_the_policies_train_the_same_with_every_patch(training_domain, tmp_path):
    # `make train` runs through the launcher: rule training predicts with the patched
    # rule matching to find contradicting rules.
    config = {"core_fallback_action_name": "action_fallback", "restrict_rules": True}
    stock_rules = _trained(RulePolicy, config, training_domain, tmp_path / "r1", STORY_FOLDERS[:2])
    stock_memo = _trained(
        MemoizationPolicy, {"max_history": 4}, training_domain, tmp_path / "m1", STORY_FOLDERS
    )
    patches = load_patches()
    for patch in patches:
        patch.apply()
    try:
        rules = _trained(RulePolicy, config, training_domain, tmp_path / "r2", STORY_FOLDERS[:2])
        memo = _trained(
            MemoizationPolicy, {"max_history": 4}, training_domain, tmp_path / "m2", STORY_FOLDERS
        )
    finally:
        for patch in reversed(patches):
            patch.revert()
    assert _unordered(rules.lookup) == _unordered(stock_rules.lookup)
    assert len(rules.lookup["rules"]) > 20
    assert memo.lookup == stock_memo.lookup and len(memo.lookup) > 100

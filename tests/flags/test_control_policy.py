"""The Rasa policy that applies flags and the kill switch, with real trackers, the real
flag store, and the handoff action that follows it."""

from __future__ import annotations

from pathlib import Path

from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction, confidence_scores_for
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk.events import ActiveLoop as SdkActiveLoop
from rasa_sdk.events import ConversationPaused as SdkConversationPaused
from rasa_sdk.events import SlotSet as SdkSlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandoff
from frontline.audit.decisions import decisions_from_events
from frontline.dialogue.control_policy import FlagControlPolicy
from frontline.dialogue.escalation_policy import EscalationDialoguePolicy
from frontline.flags.capabilities import METADATA_KEY
from frontline.policy.registry import load_policies
from tests.actions.conftest import make_tracker
from tests.flags.conftest import OPERATOR, POLICIES, PSEUDONYMIZE, ROOT, FlagWorld

DOMAIN = Domain.load(str(ROOT / "domain"))
JANE = {"customer_verified": True, "customer_id": "C1001", "customer_first_name": "Jane"}


def make_policy(tmp_path: Path, world: FlagWorld) -> FlagControlPolicy:
    return FlagControlPolicy(
        FlagControlPolicy.get_default_config(),
        LocalModelStorage(tmp_path / "storage"),
        Resource("flags"),
        ExecutionContext(GraphSchema({}), "test-model"),
        capabilities=world.capabilities,
    )


def tracker_after(
    text: str,
    intent: str,
    *,
    channel: str = "rest",
    form: bool = False,
    verified: bool = False,
    sender: str = "c1",
) -> DialogueStateTracker:
    events = [ActionExecuted(ACTION_LISTEN_NAME)]
    if verified:
        events += [SlotSet(name, value) for name, value in JANE.items()]
    if form:
        events += [
            UserUttered("cancel my order", {"name": "cancel_order", "confidence": 0.97}),
            ActionExecuted("cancel_order_form"),
            ActiveLoop("cancel_order_form"),
            SlotSet("requested_slot", "order_id"),
            ActionExecuted(ACTION_LISTEN_NAME),
        ]
    events.append(UserUttered(text, {"name": intent, "confidence": 0.9}, input_channel=channel))
    return DialogueStateTracker.from_events(sender, events, slots=DOMAIN.slots)


def predicted(prediction: PolicyPrediction) -> str | None:
    if prediction.max_confidence == 0:
        return None
    return DOMAIN.action_names_or_texts[prediction.max_confidence_index]


def test_every_flag_on_predicts_nothing(tmp_path, sqlite_world):
    prediction = make_policy(tmp_path, sqlite_world).predict_action_probabilities(
        tracker_after("cancel order 482914", "cancel_order"), DOMAIN
    )
    assert predicted(prediction) is None
    assert prediction.optional_events == [] and prediction.action_metadata is None


def test_the_kill_switch_hands_the_next_message_to_a_person(tmp_path, sqlite_world):
    policy = make_policy(tmp_path, sqlite_world)
    sqlite_world.admin.set_kill_switch("messages", OPERATOR, "payments incident")
    prediction = policy.predict_action_probabilities(tracker_after("hi", "greet"), DOMAIN)
    assert predicted(prediction) == "action_handoff" and prediction.max_confidence == 1.0
    assert prediction.policy_name == "FlagControlPolicy" and prediction.policy_priority == 8
    assert prediction.is_no_user_prediction
    assert prediction.optional_events == [
        SlotSet("handoff_reason", "kill_switch"),
        SlotSet(
            "escalation_rule",
            {
                "id": "flags.kill_switch.messages",
                "rationale": "The kill switch hands every new message to a person "
                "(payments incident).",
                "policy": "flags",
                "version": sqlite_world.policy.version,
                "response": "utter_kill_switch_messages",
            },
        ),
    ]
    assert prediction.events == []  # nothing changes unless the handoff wins
    [record] = prediction.action_metadata[METADATA_KEY]
    assert record["flag"] == "kill_switch" and record["variant"] == "messages"
    assert record["rule"] == "kill_switch:messages" and record["enabled"] is False
    assert record["targeting_key_hash"] == PSEUDONYMIZE("conversation:c1")


def test_a_contact_type_off_on_a_channel_hands_off_with_capability_off(tmp_path, sqlite_world):
    policy = make_policy(tmp_path, sqlite_world)
    override = sqlite_world.admin.add_override(
        "contact.returns", False, OPERATOR, "returns on Slack by people", channels=["slack"]
    )
    slack = policy.predict_action_probabilities(
        tracker_after("I want to return my order", "request_return", channel="slack"), DOMAIN
    )
    web = policy.predict_action_probabilities(
        tracker_after("I want to return my order", "request_return", channel="socketio"), DOMAIN
    )
    assert predicted(web) is None
    assert predicted(slack) == "action_handoff"
    reason, rule = slack.optional_events
    assert reason == SlotSet("handoff_reason", "capability_off")
    assert rule.value["id"] == "flags.contact.returns"
    assert rule.value["response"] == "utter_capability_off"
    assert rule.value["rationale"].startswith("Switched off for this customer by a feature flag")
    records = slack.action_metadata[METADATA_KEY]
    assert [(r["flag"], r["variant"], r["rule"]) for r in records] == [
        ("kill_switch", "off", None),
        ("contact.returns", "off", f"override:{override.override_id}"),
        ("write.return_order", "on", None),
    ]


def test_writes_off_hand_off_a_write_flow_before_any_question(tmp_path, sqlite_world):
    policy = make_policy(tmp_path, sqlite_world)
    sqlite_world.admin.set_kill_switch("writes", OPERATOR, "orders API errors")
    cancel = policy.predict_action_probabilities(
        tracker_after("cancel my order", "cancel_order"), DOMAIN
    )
    status = policy.predict_action_probabilities(
        tracker_after("where is my order", "check_order_status"), DOMAIN
    )
    assert predicted(status) is None  # reading goes on
    assert predicted(cancel) == "action_handoff"
    assert cancel.optional_events[0] == SlotSet("handoff_reason", "kill_switch")
    assert cancel.optional_events[1].value["id"] == "flags.kill_switch.writes"
    assert cancel.optional_events[1].value["response"] == "utter_kill_switch_writes"


def test_inside_a_form_the_flow_that_started_it_counts(tmp_path, sqlite_world):
    policy = make_policy(tmp_path, sqlite_world)
    override = sqlite_world.admin.add_override(
        "write.cancel_order",
        False,
        OPERATOR,
        "cancellations on Slack by people",
        channels=["slack"],
    )
    web = tracker_after("it's 482914", "inform", form=True, verified=True)
    assert predicted(policy.predict_action_probabilities(web, DOMAIN)) is None
    slack = tracker_after("it's 482914", "inform", form=True, verified=True, channel="slack")
    prediction = policy.predict_action_probabilities(slack, DOMAIN)
    assert predicted(prediction) == "action_handoff"
    assert prediction.optional_events[0] == SlotSet("handoff_reason", "capability_off")
    assert prediction.optional_events[1].value["id"] == "flags.write.cancel_order"
    records = prediction.action_metadata[METADATA_KEY]
    assert records[-1]["rule"] == f"override:{override.override_id}"
    # Verified: keyed on the customer, so the answer follows them to every channel.
    # (the outcome records' keyed pseudonym of the customer: the two can be joined)
    assert records[-1]["targeting_key_hash"] == PSEUDONYMIZE("customer:C1001")


def test_a_sensitive_topic_is_left_to_the_escalation_rules(tmp_path, sqlite_world):
    ours = make_policy(tmp_path, sqlite_world)
    sqlite_world.admin.set_kill_switch("messages", OPERATOR, "incident")
    tracker = tracker_after("I'm going to sue you over this", "out_of_scope")
    assert predicted(ours.predict_action_probabilities(tracker, DOMAIN)) is None
    rules = EscalationDialoguePolicy(
        EscalationDialoguePolicy.get_default_config(),
        LocalModelStorage(tmp_path / "storage2"),
        Resource("escalation"),
        ExecutionContext(GraphSchema({}), "test-model"),
        rules=load_policies(POLICIES),
    ).predict_action_probabilities(tracker, DOMAIN)
    best = DefaultPolicyPredictionEnsemble._pick_best_policy(
        [rules, ours.predict_action_probabilities(tracker, DOMAIN)]
    )
    assert best.policy_name == "EscalationDialoguePolicy"
    assert [e.value for e in best.events][0] == "legal"


def test_a_sensitive_topic_named_only_by_its_intent_is_left_to_the_escalation_rules(
    tmp_path, sqlite_world
):
    ours = make_policy(tmp_path, sqlite_world)
    sqlite_world.admin.set_kill_switch("messages", OPERATOR, "incident")
    tracker = tracker_after("other person is inside my profile buying things", "report_fraud")
    assert predicted(ours.predict_action_probabilities(tracker, DOMAIN)) is None


def test_the_handoff_wins_over_a_running_form_and_the_rules(tmp_path, sqlite_world):
    sqlite_world.admin.set_kill_switch("messages", OPERATOR, "incident")
    tracker = tracker_after("482914", "inform", form=True)
    ours = make_policy(tmp_path, sqlite_world).predict_action_probabilities(tracker, DOMAIN)
    form = PolicyPrediction(
        confidence_scores_for("cancel_order_form", 1.0, DOMAIN),
        "RulePolicy",
        6,
        is_no_user_prediction=True,
    )
    best = DefaultPolicyPredictionEnsemble._pick_best_policy([form, ours])
    assert best.policy_name == "FlagControlPolicy"
    assert DOMAIN.action_names_or_texts[best.max_confidence_index] == "action_handoff"
    assert [e.key for e in best.events] == ["handoff_reason", "escalation_rule"]
    assert best.action_metadata == ours.action_metadata


def test_only_a_new_message_is_checked_and_a_failed_handoff_waits(tmp_path, sqlite_world):
    policy = make_policy(tmp_path, sqlite_world)
    sqlite_world.admin.set_kill_switch("messages", OPERATOR, "incident")
    tracker = tracker_after("hi", "greet")
    tracker.update(ActionExecuted("utter_greet"))
    assert predicted(policy.predict_action_probabilities(tracker, DOMAIN)) is None
    tracker = tracker_after("hi", "greet")
    tracker.update(ActionExecuted("action_handoff", policy="FlagControlPolicy"))
    assert predicted(policy.predict_action_probabilities(tracker, DOMAIN)) == ACTION_LISTEN_NAME
    tracker.update(ConversationPaused())
    assert predicted(policy.predict_action_probabilities(tracker, DOMAIN)) is None


def test_the_decision_record_carries_the_evaluations(tmp_path, sqlite_world):
    sqlite_world.admin.set_kill_switch("writes", OPERATOR, "orders API errors")
    tracker = tracker_after("cancel my order", "cancel_order", sender="c-audit")
    prediction = make_policy(tmp_path, sqlite_world).predict_action_probabilities(tracker, DOMAIN)
    for event in prediction.optional_events:
        tracker.update(event)
    tracker.update(
        ActionExecuted(
            "action_handoff",
            policy="FlagControlPolicy",
            confidence=1.0,
            metadata=prediction.action_metadata,
        )
    )
    tracker.update(ConversationPaused())
    [decision] = decisions_from_events(
        [e.as_dict() for e in tracker.events], "c-audit", versions={"flags": "1.0.0"}
    )
    assert decision["action"] == "action_handoff" and decision["policy"] == "FlagControlPolicy"
    assert decision["handoff_reason"] == "kill_switch"
    assert [r["id"] for r in decision["rules"]] == ["flags.kill_switch.writes"]
    assert [(f["flag"], f["variant"], f["reason"], f["rule"]) for f in decision["flags"]] == [
        ("kill_switch", "writes", "TARGETING_MATCH", "kill_switch:writes"),
        ("contact.cancel_order", "on", "STATIC", None),
        ("write.cancel_order", "off", "DISABLED", "kill_switch:writes"),
    ]
    assert "Rule flags.kill_switch.writes fired" in decision["rationale"]


async def test_the_handoff_action_says_the_chosen_words_and_queues_the_reason(
    backends, domain, sqlite_world, tmp_path
):
    sqlite_world.admin.set_kill_switch(
        "messages", OPERATOR, "incident", response="utter_kill_switch_outage"
    )
    prediction = make_policy(tmp_path, sqlite_world).predict_action_probabilities(
        tracker_after("where is my order", "check_order_status", sender="flags-handoff"), DOMAIN
    )
    slots = {event.key: event.value for event in prediction.optional_events}
    tracker = make_tracker(
        domain,
        slots=JANE | slots,
        intent="check_order_status",
        text="where is my order",
        active_loop="order_status_form",
        sender_id="flags-handoff",
    )
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(backends).run(dispatcher, tracker, domain)

    assert [m["response"] for m in dispatcher.messages] == [
        "utter_kill_switch_outage",
        "utter_handoff",
    ]
    assert events[:4] == [
        SdkSlotSet("needs_human", False),
        SdkSlotSet("handoff_reason", None),
        SdkSlotSet("handoff_note", None),
        SdkSlotSet("escalation_rule", None),
    ]
    assert events[4]["value"][-1]["rule_id"] == "flags.kill_switch.messages"
    assert events[5:] == [SdkActiveLoop(None), SdkConversationPaused()]
    [entry] = backends.queue.find_by_conversation("flags-handoff")
    assert entry.packet["reason"]["code"] == "kill_switch"
    assert entry.packet["reason"]["rule"] == {
        "id": "flags.kill_switch.messages",
        "policy": "flags",
        "version": sqlite_world.policy.version,
    }
    assert entry.packet["reason"]["rationale"] == (
        "The kill switch hands every new message to a person (incident)."
    )

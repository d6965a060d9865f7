"""Once the customer is frustrated: no small talk, no jokes (the dialogue policy)."""

from __future__ import annotations

from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from frontline.dialogue.escalation_policy import EscalationDialoguePolicy
from tests.policy.test_escalation_policy_component import DOMAIN, make_policy, predicted


def conversation(*turns: tuple[str, str], slots: list | None = None) -> DialogueStateTracker:
    events: list = [ActionExecuted(ACTION_LISTEN_NAME), *(slots or [])]
    for index, (text, intent) in enumerate(turns):
        if index:
            events += [ActionExecuted("utter_x"), ActionExecuted(ACTION_LISTEN_NAME)]
        events.append(UserUttered(text, {"name": intent, "confidence": 0.9}))
    return DialogueStateTracker.from_events("c1", events, slots=DOMAIN.slots)


def test_a_joke_after_an_angry_message_gets_an_apology_and_the_offer_of_a_person(tmp_path):
    policy = make_policy(tmp_path)
    tracker = conversation(
        ("this is ridiculous and useless", "inform"), ("tell me a joke", "chitchat")
    )
    prediction = policy.predict_action_probabilities(tracker, DOMAIN)
    assert predicted(prediction) == "utter_frustration_empathy"
    assert prediction.max_confidence == 1.0
    assert prediction.optional_events == [SlotSet("frustrated", True)]


def test_small_talk_from_a_calm_customer_is_left_to_the_other_policies(tmp_path):
    tracker = conversation(
        ("where is my order", "check_order_status"), ("tell me a joke", "chitchat")
    )
    assert predicted(make_policy(tmp_path).predict_action_probabilities(tracker, DOMAIN)) is None


def test_frustration_is_remembered_beyond_the_window(tmp_path):
    calm = [("hello", "greet")] * 6
    tracker = conversation(
        *calm, ("a joke please", "chitchat"), slots=[SlotSet("frustrated", True)]
    )
    prediction = make_policy(tmp_path).predict_action_probabilities(tracker, DOMAIN)
    assert predicted(prediction) == "utter_frustration_empathy"


def test_after_the_apology_the_assistant_listens(tmp_path):
    tracker = conversation(
        ("this is ridiculous and useless", "inform"), ("tell me a joke", "chitchat")
    )
    tracker.update(
        ActionExecuted("utter_frustration_empathy", policy=EscalationDialoguePolicy.__name__)
    )
    prediction = make_policy(tmp_path).predict_action_probabilities(tracker, DOMAIN)
    assert predicted(prediction) == ACTION_LISTEN_NAME


def test_a_frustration_handoff_sets_its_reason_and_remembers_it(tmp_path):
    tracker = conversation(("YOUR COMPANY IS A JOKE", "insult"))
    prediction = make_policy(tmp_path).predict_action_probabilities(tracker, DOMAIN)
    assert predicted(prediction) == "action_handoff"
    reason, rule, remembered = prediction.optional_events
    assert reason == SlotSet("handoff_reason", "frustration")
    assert rule.value["id"] == "frustration" and rule.value["priority"] == "high"
    assert remembered == SlotSet("frustrated", True)

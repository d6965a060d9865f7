"""Messages the assistant did not understand: rephrase, then a human."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from frontline.services.fallback import FallbackStep, is_dialogue_fallback, next_fallback_step
from frontline.services.handoff import REPEATED_FALLBACK
from frontline.vocabulary import Slot

RESPONSES = {
    FallbackStep.REPHRASE: "utter_ask_rephrase",
    FallbackStep.OFFER_HUMAN: "utter_offer_human",
}


class ActionFallback(UsesBackends, Action):
    """Two-stage fallback driven by the escalation policy's thresholds.

    It answers two situations: a message NLU did not understand (``nlu_fallback``, by
    rule), and a message that was understood but fits nowhere in the dialogue (the rule
    policy's core fallback, e.g. "where is my order?" while a form waits for the order
    number). In the second case the message is reverted, as Rasa's default fallback does:
    otherwise the policies find themselves in the same state after the fallback, predict
    it again until Rasa's circuit breaker stops them, and every later message trips the
    breaker at once.
    """

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        step = next_fallback_step(tracker.events, self.backends.escalation)
        if step is FallbackStep.HAND_OFF:
            return [
                SlotSet(Slot.HANDOFF_REASON, REPEATED_FALLBACK),
                FollowupAction("action_handoff"),
            ]
        dispatcher.utter_message(response=RESPONSES[step])
        if is_dialogue_fallback(tracker.latest_message, tracker.events):
            return [UserUtteranceReverted()]
        return []

"""Messages the assistant did not understand: rephrase, then a human."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from frontline.services.fallback import FallbackStep, next_fallback_step
from frontline.services.handoff import REPEATED_FALLBACK

RESPONSES = {
    FallbackStep.REPHRASE: "utter_ask_rephrase",
    FallbackStep.OFFER_HUMAN: "utter_offer_human",
}


class ActionFallback(UsesBackends, Action):
    """Two-stage fallback driven by the escalation policy's thresholds."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        step = next_fallback_step(tracker.events, self.backends.escalation)
        if step is FallbackStep.HAND_OFF:
            return [SlotSet("handoff_reason", REPEATED_FALLBACK), FollowupAction("action_handoff")]
        dispatcher.utter_message(response=RESPONSES[step])
        return []

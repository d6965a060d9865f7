"""An unclear message: "Did you mean …?" with the best business options as buttons."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from frontline.nlu.clarification_policy import clarification_policy
from frontline.services.clarification import CLARIFY_RESPONSE, clarification_offer
from frontline.settings import get_settings


class ActionClarify(Action):
    """Offers the options the NLU named (``nlu_clarify``); a click continues that flow with
    the original message's entities, "Something else" is the not-understood path."""

    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        policy = clarification_policy(get_settings().policies_dir)
        offer = clarification_offer(tracker.latest_message or {}, policy)
        if offer is None:  # nothing to offer: the not-understood path
            return [FollowupAction("action_fallback")]
        dispatcher.utter_message(
            response=CLARIFY_RESPONSE, buttons=[b.as_dict() for b in offer.buttons]
        )
        return []

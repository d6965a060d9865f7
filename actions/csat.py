"""Customer satisfaction: "How did I do?" after a resolved contact, and the answer."""

from __future__ import annotations

from datetime import datetime, timezone

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from actions.verification import latest_entities
from frontline.services.csat import ask_csat, read_feedback, record_feedback
from frontline.vocabulary import Slot

CSAT_SLOT = Slot.CSAT


def csat_question(
    dispatcher: CollectingDispatcher, tracker: Tracker, intent: str
) -> list[EventType]:
    """Asks "How did I do?" after the contact ``intent`` was resolved (once answered,
    not again in this conversation); the events remember the question."""
    pending = ask_csat(
        tracker.get_slot(CSAT_SLOT), intent, tracker.sender_id, datetime.now(timezone.utc)
    )
    if pending is None:
        return []
    dispatcher.utter_message(response="utter_ask_csat")
    return [SlotSet(CSAT_SLOT, pending)]


class ActionSaveCsat(UsesBackends, Action):
    """Stores a rating and/or comment answering the CSAT question."""

    def name(self) -> str:
        return "action_save_csat"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        pending = tracker.get_slot(CSAT_SLOT)
        feedback = read_feedback(
            (tracker.latest_message or {}).get("text"), latest_entities(tracker, "rating")
        )
        result = await record_feedback(
            self.backends.feedback,
            pending=pending,
            feedback=feedback,
            conversation_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel(),
            latest_intent=_latest_contact(tracker),
            now=datetime.now(timezone.utc),
        )
        dispatcher.utter_message(response=result.response)
        return [SlotSet(CSAT_SLOT, result.pending)]


def _latest_contact(tracker: Tracker) -> str | None:
    """The latest request of the customer, for feedback nobody asked for."""
    skip = {"csat_feedback", "affirm", "deny", "inform", "thank", "greet", "goodbye", "stop"}
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if name and name not in skip and name != "nlu_fallback":
                return str(name)
    return None

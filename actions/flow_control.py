"""Ending a flow on the customer's word ("never mind", "stop"): nothing is changed."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

#: What a flow collects on the way to a change. Cleared when the customer stops, so a
#: later request starts afresh. The verified identity and the order in context stay.
PENDING_SLOTS = (
    "cancel_confirmed",
    "return_confirmed",
    "charge_amount",
    "dispute_confirmed",
    "disputed_charge_id",
    "reset_confirmed",
    "account_field",
    "account_new_value",
    "account_change_confirmed",
    "previous_order_id",
)


class ActionStopFlow(Action):
    """Says the flow stopped with nothing changed and forgets the half-made change.

    Runs after ``action_deactivate_loop``; no write happens before a confirmed yes,
    so stopping at any point leaves the customer's account as it was.
    """

    def name(self) -> str:
        return "action_stop_flow"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_flow_stopped")
        return [SlotSet(name, None) for name in PENDING_SLOTS if tracker.get_slot(name) is not None]

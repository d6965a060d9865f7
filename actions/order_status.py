"""Order status: state, items, tracking and delivery estimate."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from actions.csat import csat_question
from actions.verification import VerifiedFormValidationAction
from frontline.services.action_log import log_entry
from frontline.services.handoff import BACKEND_ERROR
from frontline.services.orders import LookupStatus, find_customer_order, status_message
from frontline.vocabulary import Slot


class ValidateOrderStatusForm(VerifiedFormValidationAction):
    """Verification, then the order number.

    A new status request that names no order is about another order ("and my other
    order?"): the order in context is not shown again, the customer is asked which.
    """

    keeps_order_in_context = False

    def name(self) -> str:
        return "validate_order_status_form"


class ActionOrderStatus(UsesBackends, Action):
    """Tells the verified customer where their order is."""

    def name(self) -> str:
        return "action_order_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        conversation = await self.conversation(tracker)
        order_id = tracker.get_slot(Slot.ORDER_ID)
        lookup = await find_customer_order(self.backends.orders, conversation.customer_id, order_id)
        log = tracker.get_slot(Slot.ACTION_LOG)
        if lookup.status is LookupStatus.UNAVAILABLE:
            dispatcher.utter_message(response="utter_backend_error")
            return [
                SlotSet(Slot.ACTION_LOG, log_entry(log, "order_status", "backend_error", order_id)),
                SlotSet(Slot.HANDOFF_REASON, BACKEND_ERROR),
                FollowupAction("action_handoff"),
            ]
        if lookup.status is LookupStatus.NOT_FOUND or lookup.order is None:
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
            return [
                SlotSet(Slot.ORDER_ID, None),
                SlotSet(Slot.ACTION_LOG, log_entry(log, "order_status", "not_found", order_id)),
            ]
        dispatcher.utter_message(response="utter_order_status", **status_message(lookup.order))
        detail = f"order {order_id} is {lookup.order['state']}"
        return [
            SlotSet(Slot.ACTION_LOG, log_entry(log, "order_status", "shown", detail)),
            *csat_question(dispatcher, tracker, "check_order_status"),
        ]

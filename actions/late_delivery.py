"""Late delivery: verify, the order, its status against the promised date; late -> a person."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from actions.csat import csat_question
from actions.verification import VerifiedFormValidationAction
from frontline.services.action_log import log_entry
from frontline.services.handoff import BACKEND_ERROR, LATE_DELIVERY
from frontline.services.late_delivery import DeliveryOutcome, check_delivery, late_rationale
from frontline.services.orders import LookupStatus, find_customer_order


class ValidateLateDeliveryForm(VerifiedFormValidationAction):
    """Verification, then the order that is late (an order in context is the one)."""

    def name(self) -> str:
        return "validate_late_delivery_form"


class ActionLateDelivery(UsesBackends, Action):
    """Tells where the order is against its promised date; a late one goes to a person."""

    def name(self) -> str:
        return "action_late_delivery"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order_id = tracker.get_slot("order_id")
        log = tracker.get_slot("action_log")
        conversation = await self.conversation(tracker)
        lookup = await find_customer_order(
            self.backends.orders, conversation.customer_id or "", order_id
        )
        unavailable: list[EventType] = [
            SlotSet("action_log", log_entry(log, "late_delivery", "backend_error", order_id)),
            SlotSet("handoff_reason", BACKEND_ERROR),
            FollowupAction("action_handoff"),
        ]
        if lookup.status is LookupStatus.UNAVAILABLE:
            dispatcher.utter_message(response="utter_backend_error")
            return unavailable
        if lookup.order is None:
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
            return [
                SlotSet("order_id", None),
                SlotSet("action_log", log_entry(log, "late_delivery", "not_found", order_id)),
            ]
        policy = self.backends.delivery
        check = await check_delivery(
            self.backends.orders, lookup.order, policy, self.backends.clock()
        )
        if check.outcome is not DeliveryOutcome.ASSESSED or check.assessment is None:
            dispatcher.utter_message(response="utter_backend_error")
            return unavailable
        assessment = check.assessment
        dispatcher.utter_message(response=assessment.response, **assessment.variables)
        detail = f"order {order_id}: {assessment.verdict.value}"
        events: list[EventType] = [
            SlotSet("action_log", log_entry(log, "late_delivery", assessment.verdict.value, detail))
        ]
        if assessment.verdict.needs_person:
            return events + [
                SlotSet("handoff_reason", LATE_DELIVERY),
                SlotSet("handoff_note", late_rationale(assessment, policy)),
                FollowupAction("action_handoff"),
            ]
        return events + csat_question(dispatcher, tracker, "late_delivery")

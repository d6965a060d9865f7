"""Payment problems: verify, then the latest payment's state and what to do about it."""

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
from frontline.services.payment_problem import PaymentOutcome, latest_payment


class ValidatePaymentProblemForm(VerifiedFormValidationAction):
    """Verification only: the payments are the verified customer's."""

    def name(self) -> str:
        return "validate_payment_problem_form"


class ActionPaymentStatus(UsesBackends, Action):
    """Tells the state of the latest payment (of the order in context, if it has one)."""

    def name(self) -> str:
        return "action_payment_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        conversation = await self.conversation(tracker)
        status = await latest_payment(
            self.backends.billing, conversation.customer_id or "", tracker.get_slot("order_id")
        )
        dispatcher.utter_message(response=status.response, **status.variables)
        detail = f"order {status.variables['order_id']}" if status.payment else None
        log = log_entry(
            tracker.get_slot("action_log"), "payment_status", status.outcome.value, detail
        )
        events: list[EventType] = [SlotSet("action_log", log)]
        if status.outcome is PaymentOutcome.UNAVAILABLE:
            return events + [
                SlotSet("handoff_reason", BACKEND_ERROR),
                FollowupAction("action_handoff"),
            ]
        return events + csat_question(dispatcher, tracker, "payment_problem")

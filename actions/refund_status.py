"""Refund status: verify, then each refund's state, amount, card and dates; overdue -> a person."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from actions.csat import csat_question
from actions.verification import VerifiedFormValidationAction
from frontline.services.action_log import log_entry
from frontline.services.handoff import BACKEND_ERROR, REFUND_OVERDUE
from frontline.services.refund_status import RefundOutcome, overdue_rationale, refund_overview


class ValidateRefundStatusForm(VerifiedFormValidationAction):
    """Verification only: the refunds are the verified customer's."""

    def name(self) -> str:
        return "validate_refund_status_form"


class ActionRefundStatus(UsesBackends, Action):
    """Tells the verified customer where each refund is; an overdue one goes to a person."""

    def name(self) -> str:
        return "action_refund_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        policy = self.backends.returns
        conversation = await self.conversation(tracker)
        overview = await refund_overview(
            self.backends.billing,
            conversation.customer_id or "",
            policy,
            self.backends.clock(),
            order_id=tracker.get_slot("order_id"),
        )
        dispatcher.utter_message(response=overview.response, **overview.variables)
        detail = ", ".join(f"{v.order_id} {v.refund.get('state')}" for v in overview.refunds)
        log = log_entry(
            tracker.get_slot("action_log"), "refund_status", overview.outcome.value, detail or None
        )
        events: list[EventType] = [SlotSet("action_log", log)]
        if overview.outcome is RefundOutcome.UNAVAILABLE:
            return events + [
                SlotSet("handoff_reason", BACKEND_ERROR),
                FollowupAction("action_handoff"),
            ]
        if overview.outcome is RefundOutcome.OVERDUE:
            return events + [
                SlotSet("handoff_reason", REFUND_OVERDUE),
                SlotSet("handoff_note", overdue_rationale(overview, policy)),
                FollowupAction("action_handoff"),
            ]
        return events + csat_question(dispatcher, tracker, "refund_status")

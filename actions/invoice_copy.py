"""Invoice copy: verify, then billing e-mails the invoice to the address on file (one write)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from actions.csat import csat_question
from actions.guardrails import refusal_events, write_log_fields
from actions.verification import VerifiedFormValidationAction
from frontline.services.action_log import log_entry
from frontline.services.handoff import BACKEND_ERROR
from frontline.services.invoice_copy import InvoiceCopyOutcome, send_invoice_copy


class ValidateInvoiceCopyForm(VerifiedFormValidationAction):
    """Verification only: the copy goes to the verified account's e-mail."""

    def name(self) -> str:
        return "validate_invoice_copy_form"


class ActionSendInvoiceCopy(UsesBackends, Action):
    """Has billing e-mail the invoice (of the order in context, else the newest)."""

    def name(self) -> str:
        return "action_send_invoice_copy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        conversation = await self.conversation(tracker)
        result = await send_invoice_copy(
            self.backends.billing,
            customer_id=conversation.customer_id,
            order_id=tracker.get_slot("order_id"),
            context=conversation.write_context(),
            rules=self.backends.rules,
            audit=self.backends.audit,
        )
        dispatcher.utter_message(response=result.response, **result.variables)
        detail = f"invoice {result.variables.get('invoice_id', '-')}: {result.outcome.value}"
        log = log_entry(
            tracker.get_slot("action_log"),
            "send_invoice_copy",
            result.outcome.value,
            detail,
            **write_log_fields(result.check, result.idempotency_key or ""),
        )
        events: list[EventType] = [SlotSet("action_log", log)]
        if result.outcome is InvoiceCopyOutcome.UNAVAILABLE:
            return events + [
                SlotSet("handoff_reason", BACKEND_ERROR),
                FollowupAction("action_handoff"),
            ]
        if result.outcome is InvoiceCopyOutcome.NEEDS_HUMAN and result.check is not None:
            return events + refusal_events(result.check)
        return events + csat_question(dispatcher, tracker, "invoice_copy")

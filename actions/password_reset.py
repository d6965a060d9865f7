"""Password reset: verification, a yes, then a link e-mailed to the address on file."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from actions.csat import csat_question
from actions.guardrails import write_handoff_events, write_log_fields
from actions.verification import (
    ValidatesYesOrNo,
    VerifiedFormValidationAction,
    backend_error_handoff,
)
from frontline.services.action_log import log_entry
from frontline.services.handoff import BACKEND_ERROR
from frontline.services.orders import idempotency_key
from frontline.services.password_reset import ResetOutcome, email_on_file, send_reset_link
from frontline.vocabulary import Slot

CONFIRMATION_SLOT = Slot.RESET_CONFIRMED


class ValidatePasswordResetForm(ValidatesYesOrNo, VerifiedFormValidationAction):
    """Verification, then the customer's yes to sending the link."""

    yes_no_slot = CONFIRMATION_SLOT

    def name(self) -> str:
        return "validate_password_reset_form"


class ActionAskResetConfirmed(UsesBackends, Action):
    """Asks whether to send the link, naming the (masked) address it goes to."""

    def name(self) -> str:
        return "action_ask_reset_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        email = await email_on_file(self.backends.crm, await self.verified_customer(tracker))
        if email is None:
            return backend_error_handoff(dispatcher)
        dispatcher.utter_message(response="utter_ask_reset_confirmed", email=email)
        return []


class ActionSendPasswordReset(UsesBackends, Action):
    """Has the CRM send the reset link, if (and only if) the customer said yes."""

    def name(self) -> str:
        return "action_send_password_reset"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        conversation = await self.conversation(tracker)
        customer_id = conversation.customer_id
        key = idempotency_key(tracker.sender_id, "password-reset", customer_id or "")
        result = await send_reset_link(
            self.backends.crm,
            customer_id=customer_id,
            confirmed=tracker.get_slot(CONFIRMATION_SLOT) is True,
            idempotency_key=key,
            context=conversation.write_context(),
            rules=self.backends.rules,
            audit=self.backends.audit,
        )
        dispatcher.utter_message(response=result.response, **result.variables)
        log = log_entry(
            tracker.get_slot(Slot.ACTION_LOG),
            "password_reset",
            result.outcome.value,
            customer_id,
            **write_log_fields(result.check, key),
        )
        events: list[EventType] = [SlotSet(CONFIRMATION_SLOT, None), SlotSet(Slot.ACTION_LOG, log)]
        if result.outcome is ResetOutcome.SENT:
            events += csat_question(dispatcher, tracker, "reset_password")
        elif handoff := write_handoff_events(
            result.write,
            f"We could not confirm whether the password-reset link was sent: the CRM "
            f"timed out twice (idempotency key {key}).",
        ):
            events += handoff
        elif result.outcome is ResetOutcome.UNAVAILABLE:
            events += [
                SlotSet(Slot.HANDOFF_REASON, BACKEND_ERROR),
                FollowupAction("action_handoff"),
            ]
        return events

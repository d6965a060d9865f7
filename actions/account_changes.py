"""Account changes (shipping address, e-mail, phone): verify, show, ask, apply, confirm."""

from __future__ import annotations

from typing import Any

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
    value_before_latest_message,
)
from frontline.services.account_changes import (
    EMAIL,
    FIELD_OF_INTENT,
    ChangeOutcome,
    apply_change,
    ask_value_response,
    change_prompt,
    invalid_value_response,
    normalize_new_value,
)
from frontline.services.action_log import log_entry
from frontline.services.handoff import BACKEND_ERROR
from frontline.services.orders import idempotency_key
from frontline.vocabulary import Slot

FIELD_SLOT = Slot.ACCOUNT_FIELD
VALUE_SLOT = Slot.ACCOUNT_NEW_VALUE
CONFIRMATION_SLOT = Slot.ACCOUNT_CHANGE_CONFIRMED
TRANSIENT_SLOTS = (FIELD_SLOT, VALUE_SLOT, CONFIRMATION_SLOT)


def _field(tracker: Tracker) -> str:
    return tracker.get_slot(FIELD_SLOT) or EMAIL


class ValidateAccountChangeForm(ValidatesYesOrNo, VerifiedFormValidationAction):
    """Verification, the new value (checked for its kind), then the customer's yes."""

    yes_no_slot = CONFIRMATION_SLOT

    def name(self) -> str:
        return "validate_account_change_form"

    def validate_account_new_value(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        account_field = _field(tracker)
        value = normalize_new_value(account_field, slot_value)
        if value is None:
            dispatcher.utter_message(response=invalid_value_response(account_field))
            return {VALUE_SLOT: None}
        slots: dict[str, Any] = {VALUE_SLOT: value}
        previous = value_before_latest_message(tracker, VALUE_SLOT)
        if previous and previous != value:
            slots[CONFIRMATION_SLOT] = None  # "no, make it ...": ask again about the new value
        return slots


class ActionAskAccountNewValue(Action):
    """Asks for the new e-mail address, phone number or shipping address."""

    def name(self) -> str:
        return "action_ask_account_new_value"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response=ask_value_response(_field(tracker)))
        return []


class ActionAskAccountChangeConfirmed(UsesBackends, Action):
    """Presents the exact change (current value masked, new value in full) and asks."""

    def name(self) -> str:
        return "action_ask_account_change_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        prompt = await change_prompt(
            self.backends.crm,
            await self.verified_customer(tracker),
            _field(tracker),
            tracker.get_slot(VALUE_SLOT),
        )
        if prompt is None:
            return backend_error_handoff(dispatcher)
        dispatcher.utter_message(response="utter_ask_account_change_confirmed", **prompt)
        return []


class ActionChangeAccount(UsesBackends, Action):
    """Applies the change if (and only if) the customer said yes, then the next steps."""

    def name(self) -> str:
        return "action_change_account"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        conversation = await self.conversation(tracker)
        account_field = _field(tracker)
        new_value = tracker.get_slot(VALUE_SLOT)
        customer_id = conversation.customer_id
        key = idempotency_key(
            tracker.sender_id, "account-change", customer_id or "", account_field, new_value or ""
        )
        result = await apply_change(
            self.backends.crm,
            customer_id=customer_id,
            account_field=account_field,
            new_value=new_value,
            confirmed=tracker.get_slot(CONFIRMATION_SLOT) is True,
            idempotency_key=key,
            context=conversation.write_context(),
            rules=self.backends.rules,
            audit=self.backends.audit,
        )
        dispatcher.utter_message(response=result.response, **result.variables)
        log = log_entry(
            tracker.get_slot(Slot.ACTION_LOG),
            "account_change",
            result.outcome.value,
            account_field,
            **write_log_fields(result.check, key),
        )
        events: list[EventType] = [SlotSet(name, None) for name in TRANSIENT_SLOTS]
        events.append(SlotSet(Slot.ACTION_LOG, log))
        if result.outcome is ChangeOutcome.CHANGED:
            intent = next(i for i, f in FIELD_OF_INTENT.items() if f == account_field)
            events += csat_question(dispatcher, tracker, intent)
        elif handoff := write_handoff_events(
            result.write,
            f"We could not confirm whether the account change was made: the CRM timed out twice "
            f"(idempotency key {key}).",
        ):
            events += handoff
        elif result.outcome is ChangeOutcome.UNAVAILABLE:
            events += [
                SlotSet(Slot.HANDOFF_REASON, BACKEND_ERROR),
                FollowupAction("action_handoff"),
            ]
        return events

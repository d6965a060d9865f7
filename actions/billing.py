"""Billing questions: recent invoices, a charge explained, a duplicate charge disputed.

One form, ``billing_form``, verifies the customer for all three; the ``billing_topic``
slot (set from the intent) decides what else it asks and which action answers.
"""

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
    IDENTITY_SLOTS,
    ValidatesYesOrNo,
    VerifiedFormValidationAction,
    backend_error_handoff,
    give_up,
    latest_entities,
    latest_text,
)
from frontline.services.action_log import log_entry
from frontline.services.billing import (
    BillingStatus,
    DisputeOutcome,
    charge_button,
    check_duplicates,
    dispute_duplicate,
    dispute_rationale,
    duplicate_variables,
    explain_charge,
    parse_amount,
    recent_charges,
    recent_invoices,
)
from frontline.services.handoff import BACKEND_ERROR, POLICY
from frontline.services.orders import idempotency_key
from frontline.services.typed_answers import typed_answer
from frontline.vocabulary import Slot

TOPIC_SLOT = Slot.BILLING_TOPIC
INVOICES, CHARGE, DOUBLE_CHARGE = "invoices", "charge", "double_charge"
AMOUNT_SLOT = Slot.CHARGE_AMOUNT
CONFIRMATION_SLOT = Slot.DISPUTE_CONFIRMED
CHARGE_SLOT = Slot.DISPUTED_CHARGE_ID

#: What each topic asks after verification.
TOPIC_SLOTS = {INVOICES: (), CHARGE: (AMOUNT_SLOT,), DOUBLE_CHARGE: (CONFIRMATION_SLOT,)}


class ValidateBillingForm(ValidatesYesOrNo, VerifiedFormValidationAction):
    """Verification, then the amount of the charge or the yes to a dispute, by topic."""

    yes_no_slot = CONFIRMATION_SLOT

    def name(self) -> str:
        return "validate_billing_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        slots = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        wanted = TOPIC_SLOTS.get(tracker.get_slot(TOPIC_SLOT) or INVOICES, ())
        return [slot for slot in slots if slot in IDENTITY_SLOTS or slot in wanted]

    async def extract_charge_amount(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A bare amount typed when asked for one ("59.90", "it was 120.5")."""
        if tracker.get_slot("requested_slot") != AMOUNT_SLOT or latest_entities(tracker, "amount"):
            return {}
        amount = typed_answer(AMOUNT_SLOT, latest_text(tracker))
        return {AMOUNT_SLOT: amount} if amount else {}

    def validate_charge_amount(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        amount = parse_amount(slot_value)
        if amount is None:
            dispatcher.utter_message(response="utter_invalid_amount")
            return {AMOUNT_SLOT: None}
        return {AMOUNT_SLOT: str(amount)}

    async def prepare_after_verification(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any]
    ) -> dict[str, Any]:
        """For a duplicate charge: find it before asking whether to dispute it."""
        if slots.get(TOPIC_SLOT) != DOUBLE_CHARGE:
            return {}
        if slots.get(CONFIRMATION_SLOT) is not None or slots.get(CHARGE_SLOT):
            return {}
        customer_id = await self.verified_customer(tracker, slots)
        check = await check_duplicates(self.backends.billing, customer_id)
        if check.status is BillingStatus.UNAVAILABLE:
            dispatcher.utter_message(response="utter_backend_error")
            return give_up(BACKEND_ERROR)
        if check.duplicate is None:
            # Nothing to dispute: the form ends and action_dispute_charge explains.
            return {CONFIRMATION_SLOT: False}
        return {CHARGE_SLOT: check.duplicate.charge_id}


class ActionAskChargeAmount(UsesBackends, Action):
    """Asks which charge, offering the customer's recent charges as buttons."""

    def name(self) -> str:
        return "action_ask_charge_amount"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        charges = await recent_charges(self.backends.billing, await self.verified_customer(tracker))
        dispatcher.utter_message(
            response="utter_ask_charge_amount", buttons=[charge_button(c) for c in charges]
        )
        return []


class ActionAskDisputeConfirmed(UsesBackends, Action):
    """Shows the duplicate charge and asks whether to open a dispute."""

    def name(self) -> str:
        return "action_ask_dispute_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        check = await check_duplicates(self.backends.billing, await self.verified_customer(tracker))
        if check.duplicate is None:
            return backend_error_handoff(dispatcher)
        dispatcher.utter_message(
            response="utter_ask_dispute_confirmed", **duplicate_variables(check.duplicate)
        )
        return [SlotSet(CHARGE_SLOT, check.duplicate.charge_id)]


def _done(
    tracker: Tracker, action: str, result: str, detail: str | None, **log_fields: Any
) -> list[EventType]:
    log = log_entry(tracker.get_slot(Slot.ACTION_LOG), action, result, detail, **log_fields)
    # billing_topic stays: the dialogue's rules are conditioned on it until the next turn
    # (the next billing request sets it again from its intent).
    return [
        SlotSet(Slot.ACTION_LOG, log),
        SlotSet(AMOUNT_SLOT, None),
        SlotSet(CONFIRMATION_SLOT, None),
        SlotSet(CHARGE_SLOT, None),
    ]


def _backend_down() -> list[EventType]:
    return [SlotSet(Slot.HANDOFF_REASON, BACKEND_ERROR), FollowupAction("action_handoff")]


class ActionListInvoices(UsesBackends, Action):
    """Lists the verified customer's recent invoices."""

    def name(self) -> str:
        return "action_list_invoices"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        listing = await recent_invoices(
            self.backends.billing, await self.verified_customer(tracker)
        )
        dispatcher.utter_message(response=listing.response, invoices="\n".join(listing.lines))
        events = _done(tracker, "list_invoices", listing.status.value, f"{len(listing.lines)}")
        if listing.status is BillingStatus.UNAVAILABLE:
            return events + _backend_down()
        return events + csat_question(dispatcher, tracker, "list_invoices")


class ActionExplainCharge(UsesBackends, Action):
    """Says what a charge was for: which order, which items, which invoice."""

    def name(self) -> str:
        return "action_explain_charge"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        amount = tracker.get_slot(AMOUNT_SLOT)
        explanation = await explain_charge(
            self.backends.billing,
            self.backends.orders,
            await self.verified_customer(tracker),
            amount,
        )
        dispatcher.utter_message(response=explanation.response, **explanation.variables)
        events = _done(tracker, "explain_charge", explanation.status.value, f"amount {amount}")
        if explanation.status is BillingStatus.UNAVAILABLE:
            return events + _backend_down()
        if explanation.status is BillingStatus.FOUND:
            events += csat_question(dispatcher, tracker, "explain_charge")
        return events


class ActionDisputeCharge(UsesBackends, Action):
    """Opens a dispute of a duplicate charge (only after a yes) and hands it to billing."""

    def name(self) -> str:
        return "action_dispute_charge"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        conversation = await self.conversation(tracker)
        charge_id = tracker.get_slot(CHARGE_SLOT)
        key = idempotency_key(tracker.sender_id, "dispute-charge", charge_id or "")
        result = await dispute_duplicate(
            self.backends.billing,
            customer_id=conversation.customer_id,
            charge_id=charge_id,
            confirmed=tracker.get_slot(CONFIRMATION_SLOT) is True,
            idempotency_key=key,
            context=conversation.write_context(),
            rules=self.backends.rules,
            audit=self.backends.audit,
        )
        dispatcher.utter_message(response=result.response, **result.variables)
        detail = f"charge {charge_id}" + (f", {result.dispute_id}" if result.dispute_id else "")
        events = _done(
            tracker,
            "dispute_charge",
            result.outcome.value,
            detail,
            **write_log_fields(result.check, key),
        )
        handoff = write_handoff_events(
            result.write,
            f"We could not confirm whether the dispute of charge {charge_id} was opened: "
            f"billing timed out twice (idempotency key {key}).",
        )
        if handoff:
            return events + handoff
        if result.outcome is DisputeOutcome.UNAVAILABLE:
            return events + _backend_down()
        if result.hand_off and result.duplicate is not None:
            events += [
                SlotSet(Slot.HANDOFF_REASON, POLICY),
                SlotSet(Slot.HANDOFF_NOTE, dispute_rationale(result.duplicate, result.dispute_id)),
                FollowupAction("action_handoff"),
            ]
        return events

"""Cancelling an order: verification, the order, an explicit yes, then one idempotent write."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from actions.csat import csat_question
from actions.guardrails import write_handoff_events
from actions.verification import (
    ValidatesYesOrNo,
    VerifiedFormValidationAction,
    backend_error_handoff,
)
from frontline.services.action_log import log_entry
from frontline.services.handoff import BACKEND_ERROR
from frontline.services.orders import (
    CancellationOutcome,
    LookupStatus,
    cancel_order,
    cancellation_prompt,
    find_customer_order,
    idempotency_key,
)
from frontline.vocabulary import Slot


class ValidateCancelOrderForm(ValidatesYesOrNo, VerifiedFormValidationAction):
    """Verification, the order, then the customer's explicit confirmation."""

    yes_no_slot = Slot.CANCEL_CONFIRMED

    confirmation_slot = Slot.CANCEL_CONFIRMED

    def name(self) -> str:
        return "validate_cancel_order_form"

    def accept_order(
        self, order: dict[str, Any], dispatcher: CollectingDispatcher
    ) -> dict[str, Any]:
        slots = super().accept_order(order, dispatcher)
        if not order.get("cancellable"):
            # Nothing to confirm: the form ends and action_cancel_order explains why.
            slots[Slot.CANCEL_CONFIRMED] = False
        return slots


class ActionAskCancelConfirmed(UsesBackends, Action):
    """Repeats every detail of the cancellation and asks for an explicit yes."""

    def name(self) -> str:
        return "action_ask_cancel_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        lookup = await find_customer_order(
            self.backends.orders,
            await self.verified_customer(tracker),
            tracker.get_slot(Slot.ORDER_ID),
        )
        if lookup.status is not LookupStatus.FOUND or lookup.order is None:
            return backend_error_handoff(dispatcher)
        dispatcher.utter_message(
            response="utter_ask_cancel_confirmed", **cancellation_prompt(lookup.order)
        )
        return []


class ActionCancelOrder(UsesBackends, Action):
    """Cancels the order if (and only if) the customer said yes."""

    def name(self) -> str:
        return "action_cancel_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        conversation = await self.conversation(tracker)
        order_id = tracker.get_slot(Slot.ORDER_ID)
        key = idempotency_key(tracker.sender_id, "cancel-order", order_id)
        backends = self.backends
        result = await cancel_order(
            backends.orders,
            crm=backends.crm,
            customer_id=conversation.customer_id,
            order_id=order_id,
            confirmed=tracker.get_slot(Slot.CANCEL_CONFIRMED) is True,
            idempotency_key=key,
            context=conversation.write_context(),
            rules=backends.rules,
            audit=backends.audit,
        )
        dispatcher.utter_message(response=result.response, **result.variables)
        rule = result.decision.escalation_rule() if result.decision else None
        log = log_entry(
            tracker.get_slot(Slot.ACTION_LOG),
            "cancel_order",
            result.outcome.value,
            order_id,
            idempotency_key=key if result.decision and result.decision.allowed else None,
            rule_id=rule.rule_id if rule else None,
        )
        events: list[EventType] = [
            SlotSet(Slot.CANCEL_CONFIRMED, None),
            SlotSet(Slot.ACTION_LOG, log),
        ]
        if result.outcome is CancellationOutcome.CANCELLED:
            events.append(SlotSet(Slot.ORDER_ID, None))  # that order is done with
            events += csat_question(dispatcher, tracker, "cancel_order")
        elif handoff := write_handoff_events(
            result.write,
            f"We could not confirm whether order {order_id} was cancelled: the order system "
            f"timed out twice (idempotency key {key}). Check the order before answering.",
        ):
            events += handoff
        elif result.outcome is CancellationOutcome.UNAVAILABLE:
            events += [
                SlotSet(Slot.HANDOFF_REASON, BACKEND_ERROR),
                FollowupAction("action_handoff"),
            ]
        return events

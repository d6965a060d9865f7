"""Returns and refunds: verification, the order, the policy's verdict, a yes, one write."""

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
)
from frontline.services.action_log import log_entry
from frontline.services.handoff import BACKEND_ERROR, POLICY
from frontline.services.orders import LookupStatus, find_customer_order, idempotency_key
from frontline.services.returns import (
    ReturnDecision,
    ReturnOutcome,
    approval_rationale,
    assess_return,
    process_return,
    return_prompt,
)
from frontline.vocabulary import Slot

CONFIRMATION_SLOT = Slot.RETURN_CONFIRMED


class ValidateReturnForm(ValidatesYesOrNo, VerifiedFormValidationAction):
    """Verification, the order (checked against the returns policy), then the yes."""

    yes_no_slot = CONFIRMATION_SLOT

    confirmation_slot = CONFIRMATION_SLOT

    def name(self) -> str:
        return "validate_return_form"

    def accept_order(
        self, order: dict[str, Any], dispatcher: CollectingDispatcher
    ) -> dict[str, Any]:
        slots = super().accept_order(order, dispatcher)
        assessment = assess_return(order, self.backends.returns, self.backends.clock())
        if assessment.decision is not ReturnDecision.ELIGIBLE:
            # Nothing to confirm: the form ends and action_process_return explains why.
            slots[CONFIRMATION_SLOT] = False
        return slots


class ActionAskReturnConfirmed(UsesBackends, Action):
    """Repeats every detail of the return and refund, and asks for an explicit yes."""

    def name(self) -> str:
        return "action_ask_return_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        customer_id = await self.verified_customer(tracker)
        lookup = await find_customer_order(
            self.backends.orders, customer_id, tracker.get_slot(Slot.ORDER_ID)
        )
        if lookup.status is not LookupStatus.FOUND or lookup.order is None:
            return backend_error_handoff(dispatcher)
        policy = self.backends.returns
        assessment = assess_return(lookup.order, policy, self.backends.clock())
        prompt = await return_prompt(self.backends.billing, customer_id, assessment, policy)
        dispatcher.utter_message(response="utter_ask_return_confirmed", **prompt)
        return []


class ActionProcessReturn(UsesBackends, Action):
    """Returns the order and refunds it (only after a yes), or explains, or hands off."""

    def name(self) -> str:
        return "action_process_return"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        conversation = await self.conversation(tracker)
        order_id = tracker.get_slot(Slot.ORDER_ID)
        policy = self.backends.returns
        key = idempotency_key(tracker.sender_id, "return-order", order_id)
        result = await process_return(
            self.backends.orders,
            customer_id=conversation.customer_id,
            order_id=order_id,
            confirmed=tracker.get_slot(CONFIRMATION_SLOT) is True,
            policy=policy,
            now=self.backends.clock(),
            idempotency_key=key,
            context=conversation.write_context(),
            rules=self.backends.rules,
            audit=self.backends.audit,
        )
        if result.response:
            dispatcher.utter_message(response=result.response, **result.variables)
        decision = result.assessment.decision.value if result.assessment else None
        detail = f"order {order_id}: {result.outcome.value}" + (
            f" ({decision})" if result.outcome is ReturnOutcome.REFUSED else ""
        )
        log = log_entry(
            tracker.get_slot(Slot.ACTION_LOG),
            "return_order",
            result.outcome.value,
            detail,
            **write_log_fields(result.check, key),
        )
        events: list[EventType] = [SlotSet(CONFIRMATION_SLOT, None), SlotSet(Slot.ACTION_LOG, log)]
        if result.outcome is ReturnOutcome.RETURNED:
            events += [
                SlotSet(Slot.ORDER_ID, None),
                *csat_question(dispatcher, tracker, "request_return"),
            ]
        elif handoff := write_handoff_events(
            result.write,
            f"We could not confirm whether the return of order {order_id} and its refund "
            f"went through: the order system timed out twice (idempotency key {key}).",
        ):
            events += handoff
        elif result.outcome is ReturnOutcome.UNAVAILABLE:
            events += [
                SlotSet(Slot.HANDOFF_REASON, BACKEND_ERROR),
                FollowupAction("action_handoff"),
            ]
        elif result.assessment is not None and result.assessment.decision.needs_person:
            events += [
                SlotSet(Slot.HANDOFF_REASON, POLICY),
                SlotSet(Slot.HANDOFF_NOTE, approval_rationale(result.assessment, policy)),
                FollowupAction("action_handoff"),
            ]
        return events

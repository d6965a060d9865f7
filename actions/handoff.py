"""Handoff to a human: the context packet goes on the queue and the bot steps back."""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from frontline.errors import QueueError
from frontline.services.action_log import log_entry
from frontline.services.handoff import escalation_rule, hand_off
from frontline.vocabulary import Slot

logger = logging.getLogger(__name__)


class ActionHandoff(UsesBackends, Action):
    """Queues the context packet, tells the customer what happens next, pauses the bot.

    The bot ignores the conversation until the human desk posts ``ConversationResumed``.
    """

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        backends = self.backends
        log = tracker.get_slot(Slot.ACTION_LOG)
        reset = [
            SlotSet(Slot.NEEDS_HUMAN, False),
            SlotSet(Slot.HANDOFF_REASON, None),
            SlotSet(Slot.HANDOFF_NOTE, None),
            SlotSet(Slot.ESCALATION_RULE, None),
        ]
        rule = escalation_rule(tracker.current_state())
        if rule is not None and rule.response:
            # The rule asks for words of its own first (e.g. support for someone at risk),
            # whether or not the queue answers.
            dispatcher.utter_message(response=rule.response)
        # The packet names the customer the identity store verified, not the posted slots.
        state = tracker.current_state()
        customer_id = await self.verified_customer(tracker)
        state["slots"] = {
            **(state.get("slots") or {}),
            Slot.CUSTOMER_VERIFIED: bool(customer_id),
            Slot.CUSTOMER_ID: customer_id,
        }
        try:
            result = await hand_off(
                state,
                crm=backends.crm,
                queue=backends.queue,
                policy=backends.escalation,
                outbox=backends.outbox,
            )
        except QueueError as exc:
            logger.error("Handoff of %s failed: %s", tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_handoff_failed")
            return reset + [SlotSet(Slot.ACTION_LOG, log_entry(log, "handoff", "failed", str(exc)))]
        dispatcher.utter_message(
            response="utter_handoff", reference=result.reference, wait_note=result.wait_note
        )
        detail = f"{result.reason_code}, {result.priority}, {result.reference}"
        entry = log_entry(log, "handoff", "queued", detail, rule_id=rule.rule_id if rule else None)
        events = reset + [SlotSet(Slot.ACTION_LOG, entry)]
        if tracker.active_loop_name:
            events.append(ActiveLoop(None))
        return events + [ConversationPaused()]

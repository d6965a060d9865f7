"""Identity verification, shared by every form that touches account data.

Each such form lists ``email`` and ``verification_secret`` (an order number or the
account's ZIP code) first; once the customer is verified they are no longer
required. Identity comes only from the CRM check, never from what was typed.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from frontline.connectors import CrmClient
from frontline.patterns import normalize_email, normalize_order_id, normalize_ordinal
from frontline.services.contacts import ContactContext, session_started_at, topic_of_form
from frontline.services.handoff import BACKEND_ERROR, VERIFICATION_FAILED
from frontline.services.orders import LookupStatus, find_customer_order, recent_orders
from frontline.services.typed_answers import offered, typed_answer
from frontline.services.verification import VerificationStatus, classify_secret, verify_identity
from frontline.vocabulary import Slot

logger = logging.getLogger(__name__)

IDENTITY_SLOTS = ("email", "verification_secret")
#: The order numbers last offered as buttons, in order: "the second one" picks from them.
LISTED_ORDERS_SLOT = Slot.LISTED_ORDERS
#: An order in context that a new request did not name (excluded from the buttons).
PREVIOUS_ORDER_SLOT = Slot.PREVIOUS_ORDER_ID


def latest_entities(tracker: Tracker, entity: str) -> list[Any]:
    """Values of ``entity`` in the customer's latest message."""
    entities = (tracker.latest_message or {}).get("entities") or []
    return [e.get("value") for e in entities if e.get("entity") == entity]


def value_before_latest_message(tracker: Tracker, slot: str) -> Any:
    """The value ``slot`` had before the customer's latest message."""
    events = list(tracker.events)
    users = [index for index, event in enumerate(events) if event.get("event") == "user"]
    value = None
    for event in events[: users[-1] if users else len(events)]:
        if event.get("event") == "slot" and event.get("name") == slot:
            value = event.get("value")
        elif event.get("event") in ("restart", "session_started"):
            value = None
    return value


def latest_text(tracker: Tracker) -> str:
    """The text of the customer's latest message."""
    return str((tracker.latest_message or {}).get("text") or "")


async def offered_orders(
    crm: CrmClient, customer_id: str | None, tracker: Tracker
) -> list[dict[str, Any]]:
    """The orders last offered as buttons (``listed_orders``), with their states and items."""
    listed = tracker.get_slot(LISTED_ORDERS_SLOT) or []
    if not listed or not customer_id:
        return []
    return offered(await recent_orders(crm, customer_id, limit=4), listed)


def give_up(reason_code: str) -> dict[str, Any]:
    """Slots that end the form and send the conversation to a human."""
    return {Slot.NEEDS_HUMAN: True, Slot.HANDOFF_REASON: reason_code}


def backend_error_handoff(dispatcher: CollectingDispatcher) -> list[EventType]:
    """Says the backend failed, then ends the form and hands the conversation to a human."""
    dispatcher.utter_message(response="utter_backend_error")
    return [SlotSet(k, v) for k, v in give_up(BACKEND_ERROR).items()] + [
        FollowupAction("action_handoff")
    ]


def yes_or_no(slot: str, value: Any) -> dict[str, Any]:
    """A confirmation slot keeps an explicit yes (True) or no (False), nothing else."""
    return {slot: value if isinstance(value, bool) else None}


class ValidatesYesOrNo:
    """Gives a form validator ``validate_<yes_no_slot>``, which keeps only a yes or a no.

    rasa-sdk looks validators up by slot name and logs a warning for every slot it finds
    none for: without this, one per confirmation.
    """

    #: The slot holding the customer's answer to the confirmation question.
    yes_no_slot: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.yes_no_slot:
            setattr(cls, f"validate_{cls.yes_no_slot}", cls.validate_yes_or_no)

    def validate_yes_or_no(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """The customer's answer to the confirmation question: yes or no."""
        return yes_or_no(self.yes_no_slot, slot_value)


class VerifiedFormValidationAction(UsesBackends, FormValidationAction, ABC):
    """Validates a form whose first step is verifying the customer's identity.

    Context across requests: an order already in the conversation fills ``order_id``
    ("cancel it"), unless ``keeps_order_in_context`` is False; "the second one" picks
    from the orders last offered; a different order number given at the confirmation
    step ("no, I meant order X") replaces the order and asks ``confirmation_slot`` again.
    """

    #: The slot holding the customer's yes/no to the change, asked again when the order
    #: changes after the question was put.
    confirmation_slot: str | None = None
    #: Whether an order from earlier in the conversation is this request's order.
    keeps_order_in_context: bool = True

    @abstractmethod
    def name(self) -> str:
        """Name of the validation action, ``validate_<form name>``."""

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot(Slot.NEEDS_HUMAN):
            return []  # the form ends; a rule hands the conversation to a human
        if tracker.get_slot(Slot.CUSTOMER_VERIFIED) and await self.verified_customer(tracker):
            return [slot for slot in domain_slots if slot not in IDENTITY_SLOTS]
        return domain_slots

    def validate_email(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        email = normalize_email(slot_value)
        if email is None:
            dispatcher.utter_message(response="utter_invalid_email")
        return {"email": email}

    def validate_verification_secret(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        classified = classify_secret(slot_value)
        if classified is None:
            dispatcher.utter_message(response="utter_invalid_verification_secret")
            return {"verification_secret": None}
        return {"verification_secret": classified[1]}

    async def validate_order_id(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if slot_value is None:
            return {"order_id": None}  # already explained (e.g. an unknown list position)
        order_id = normalize_order_id(slot_value)
        if order_id is None:
            dispatcher.utter_message(response="utter_invalid_order_id")
            return {"order_id": None}
        previous = value_before_latest_message(tracker, "order_id")
        named_now = bool(
            latest_entities(tracker, "order_id") or latest_entities(tracker, "ordinal")
        )
        from_context = previous == order_id and not named_now
        if from_context and tracker.get_slot("requested_slot") is None:
            # The form starts with the order from earlier in the conversation.
            if not self.keeps_order_in_context:
                return {"order_id": None, PREVIOUS_ORDER_SLOT: order_id}
        slots: dict[str, Any] = {}
        if tracker.get_slot(PREVIOUS_ORDER_SLOT) is not None:
            slots[PREVIOUS_ORDER_SLOT] = None  # an order was chosen: nothing left out any more
        if self.confirmation_slot and previous and previous != order_id:
            slots[self.confirmation_slot] = None  # a different order: ask again
        customer_id = await self.verified_customer(tracker)
        if not customer_id:
            return slots | {"order_id": order_id}  # checked against the account once verified
        return slots | await self.check_order(order_id, customer_id, dispatcher)

    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Reads "the second one" against the orders last offered, and "no, I meant order X".

        Rasa fills a slot from an entity that several slots of the form map alike only
        while that slot is requested; at the confirmation question the order number
        is a correction, so it is read here.
        """
        requested = tracker.get_slot("requested_slot")
        order_ids = latest_entities(tracker, "order_id")
        if order_ids and self.confirmation_slot and requested == self.confirmation_slot:
            return {"order_id": order_ids[-1]}
        if requested not in (None, "order_id"):
            return {}
        ordinals = latest_entities(tracker, "ordinal")
        if latest_entities(tracker, "order_id"):
            return {}
        if not ordinals:
            # "the shipped one", "the earbuds": the words of one of the offered buttons.
            if requested != "order_id":
                return {}
            orders = await offered_orders(
                self.backends.crm, await self.verified_customer(tracker), tracker
            )
            named = typed_answer(Slot.ORDER_ID, latest_text(tracker), orders)
            return {"order_id": named} if named else {}
        listed = tracker.get_slot(LISTED_ORDERS_SLOT) or []
        position = normalize_ordinal(ordinals[0])
        if position is None or not listed or position > len(listed):
            dispatcher.utter_message(response="utter_which_listed_order")
            return {"order_id": None}
        return {"order_id": listed[-1] if position < 0 else listed[position - 1]}

    async def check_order(
        self, order_id: str, customer_id: str, dispatcher: CollectingDispatcher
    ) -> dict[str, Any]:
        """Accepts ``order_id`` only if it is one of the verified customer's orders."""
        lookup = await find_customer_order(self.backends.orders, customer_id, order_id)
        if lookup.status is LookupStatus.UNAVAILABLE:
            dispatcher.utter_message(response="utter_backend_error")
            return give_up(BACKEND_ERROR)
        if lookup.status is LookupStatus.NOT_FOUND or lookup.order is None:
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
            return {"order_id": None}
        return self.accept_order(lookup.order, dispatcher)

    def accept_order(
        self, order: dict[str, Any], dispatcher: CollectingDispatcher
    ) -> dict[str, Any]:
        """Slots to set for an order of the verified customer; forms add their conditions."""
        return {"order_id": str(order["id"])}

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validates each slot, then verifies identity once both factors are known."""
        events = await super().get_validation_events(dispatcher, tracker, domain)
        slots = dict(tracker.slots) | {
            e["name"]: e["value"] for e in events if e["event"] == "slot"
        }
        verified = bool(slots.get(Slot.CUSTOMER_VERIFIED)) and bool(
            await self.verified_customer(tracker)
        )
        if not verified and slots.get(Slot.EMAIL) and slots.get(Slot.VERIFICATION_SECRET):
            outcome = await self._verify(dispatcher, tracker, slots)
            events = events + [SlotSet(name, value) for name, value in outcome.items()]
            slots |= outcome
            verified = bool(outcome.get(Slot.CUSTOMER_VERIFIED))
        if verified and not slots.get(Slot.NEEDS_HUMAN):
            extra = await self.prepare_after_verification(dispatcher, tracker, slots)
            events = events + [SlotSet(name, value) for name, value in extra.items()]
        return events

    async def prepare_after_verification(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any]
    ) -> dict[str, Any]:
        """Slots a form sets once the customer is verified (each turn); none by default.

        Args:
            slots: The slots as they stand after this turn's validation.
        """
        return {}

    async def _verify(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any]
    ) -> dict[str, Any]:
        policy = self.backends.escalation
        result = await verify_identity(
            self.backends.crm,
            slots[Slot.EMAIL],
            slots[Slot.VERIFICATION_SECRET],
            previous_attempts=int(slots.get(Slot.VERIFICATION_ATTEMPTS) or 0),
            max_attempts=policy.max_verification_attempts,
            contact=ContactContext(
                channel=tracker.get_latest_input_channel(),
                conversation_id=tracker.sender_id,
                session_started_at=session_started_at(tracker.events),
                topic=topic_of_form(self.form_name()),
            ),
        )
        if result.status is VerificationStatus.UNAVAILABLE:
            dispatcher.utter_message(response="utter_backend_error")
            return give_up(BACKEND_ERROR)
        if result.status is VerificationStatus.LOCKED:
            dispatcher.utter_message(response="utter_verification_locked")
            return {"verification_attempts": float(result.attempts)} | give_up(VERIFICATION_FAILED)
        if result.status is VerificationStatus.MISMATCH:
            dispatcher.utter_message(
                response="utter_verification_failed", attempts_left=result.attempts_left
            )
            return {
                "verification_attempts": float(result.attempts),
                "email": None,
                "verification_secret": None,
                "order_id": None,
            }
        customer = result.customer or {}
        method = "crm:email+order_id" if result.verified_order_id else "crm:email+zip_code"
        await self.backends.identity.record_async(
            tracker.sender_id, str(customer.get("id")), method=method
        )
        first_name = (customer.get("name") or "").split(" ")[0] or "there"
        dispatcher.utter_message(response="utter_verified", first_name=first_name)
        verified = {
            "customer_verified": True,
            "customer_id": customer.get("id"),
            "customer_first_name": first_name,
        }
        # Rasa fills only the requested slot when one entity maps to several slots of
        # the form, so an order number that proved identity is also the order asked about.
        order_id = slots.get(Slot.ORDER_ID) or result.verified_order_id
        if order_id:
            # An order number given before verification is checked against the account
            # (and by the form's own conditions) now.
            verified |= await self.check_order(order_id, customer["id"], dispatcher)
        return verified

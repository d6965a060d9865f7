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
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from frontline.patterns import normalize_email, normalize_order_id
from frontline.services.handoff import BACKEND_ERROR, VERIFICATION_FAILED
from frontline.services.orders import LookupStatus, find_customer_order
from frontline.services.verification import VerificationStatus, classify_secret, verify_identity

logger = logging.getLogger(__name__)

IDENTITY_SLOTS = ("email", "verification_secret")


def give_up(reason_code: str) -> dict[str, Any]:
    """Slots that end the form and send the conversation to a human."""
    return {"needs_human": True, "handoff_reason": reason_code}


class VerifiedFormValidationAction(UsesBackends, FormValidationAction, ABC):
    """Validates a form whose first step is verifying the customer's identity."""

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
        if tracker.get_slot("needs_human"):
            return []  # the form ends; a rule hands the conversation to a human
        if tracker.get_slot("customer_verified"):
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
        order_id = normalize_order_id(slot_value)
        if order_id is None:
            dispatcher.utter_message(response="utter_invalid_order_id")
            return {"order_id": None}
        customer_id = tracker.get_slot("customer_id")
        if not (tracker.get_slot("customer_verified") and customer_id):
            return {"order_id": order_id}  # checked against the account once verified
        return await self.check_order(order_id, customer_id, dispatcher)

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
        if slots.get("customer_verified") or not (
            slots.get("email") and slots.get("verification_secret")
        ):
            return events
        outcome = await self._verify(dispatcher, tracker, slots)
        return events + [SlotSet(name, value) for name, value in outcome.items()]

    async def _verify(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any]
    ) -> dict[str, Any]:
        policy = self.backends.escalation
        result = await verify_identity(
            self.backends.crm,
            slots["email"],
            slots["verification_secret"],
            previous_attempts=int(slots.get("verification_attempts") or 0),
            max_attempts=policy.max_verification_attempts,
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
        first_name = (customer.get("name") or "").split(" ")[0] or "there"
        dispatcher.utter_message(response="utter_verified", first_name=first_name)
        verified = {
            "customer_verified": True,
            "customer_id": customer.get("id"),
            "customer_first_name": first_name,
        }
        # Rasa fills only the requested slot when one entity maps to several slots of
        # the form, so an order number that proved identity is also the order asked about.
        order_id = slots.get("order_id") or result.verified_order_id
        if order_id:
            # An order number given before verification is checked against the account
            # (and by the form's own conditions) now.
            verified |= await self.check_order(order_id, customer["id"], dispatcher)
        return verified

"""Choosing an order: the question every order form asks when no number was given."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from actions.verification import LISTED_ORDERS_SLOT, PREVIOUS_ORDER_SLOT
from frontline.services.orders import recent_orders


def order_button(order: dict[str, Any]) -> dict[str, str]:
    """A quick-reply button that fills ``order_id`` with this order's number."""
    items = len(order.get("items") or [])
    title = f"{order['id']} · {order['state']} · {items} item{'s' if items != 1 else ''}"
    return {"title": title, "payload": f'/inform{{"order_id": "{order["id"]}"}}'}


class ActionAskOrderId(UsesBackends, Action):
    """Asks which order, offering the verified customer's recent orders as buttons.

    The orders offered are remembered (``listed_orders``) so "the second one" can be
    understood; an order already discussed that the customer did not ask about again
    ("and my other order?") is left out.
    """

    def name(self) -> str:
        return "action_ask_order_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        customer_id = await self.verified_customer(tracker)
        excluded = tracker.get_slot(PREVIOUS_ORDER_SLOT)
        orders = await recent_orders(self.backends.crm, customer_id, limit=4) if customer_id else []
        orders = [o for o in orders if str(o["id"]) != excluded][:3]
        if not orders:
            dispatcher.utter_message(response="utter_ask_order_id")
            return [SlotSet(LISTED_ORDERS_SLOT, None)]
        dispatcher.utter_message(
            response="utter_choose_order", buttons=[order_button(o) for o in orders]
        )
        return [SlotSet(LISTED_ORDERS_SLOT, [str(o["id"]) for o in orders])]

"""Choosing an order: the question both order forms ask when no number was given."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.backends import UsesBackends
from frontline.services.orders import recent_orders


def order_button(order: dict[str, Any]) -> dict[str, str]:
    """A quick-reply button that fills ``order_id`` with this order's number."""
    items = len(order.get("items") or [])
    title = f"{order['id']} · {order['state']} · {items} item{'s' if items != 1 else ''}"
    return {"title": title, "payload": f'/inform{{"order_id": "{order["id"]}"}}'}


class ActionAskOrderId(UsesBackends, Action):
    """Asks which order, offering the verified customer's recent orders as buttons."""

    def name(self) -> str:
        return "action_ask_order_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        customer_id = tracker.get_slot("customer_id")
        orders = await recent_orders(self.backends.crm, customer_id) if customer_id else []
        if orders:
            dispatcher.utter_message(
                response="utter_choose_order", buttons=[order_button(o) for o in orders]
            )
        else:
            dispatcher.utter_message(response="utter_ask_order_id")
        return []

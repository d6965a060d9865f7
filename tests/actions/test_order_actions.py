"""Order status and cancellation actions, against the real sandbox."""

from __future__ import annotations

import requests
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.order_cancellation import ActionAskCancelConfirmed, ActionCancelOrder
from actions.order_status import ActionOrderStatus
from actions.orders import ActionAskOrderId
from tests.actions.conftest import confirmation_question, make_tracker

JANE = {"customer_verified": True, "customer_id": "C1001", "customer_first_name": "Jane"}
OMAR = {"customer_verified": True, "customer_id": "C1002", "customer_first_name": "Omar"}


def order(sandbox, order_id: str) -> dict:
    return requests.get(f"{sandbox.url}/orders/{order_id}", timeout=10).json()


async def test_order_status_reports_state_and_tracking(backends, domain, sandbox):
    tracker = make_tracker(domain, slots=JANE | {"order_id": "482913"})
    dispatcher = CollectingDispatcher()
    events = await ActionOrderStatus(backends).run(dispatcher, tracker, domain)
    message, csat = dispatcher.messages
    assert message["response"] == "utter_order_status"
    assert message["state_description"] == "on its way"
    assert order(sandbox, "482913")["shipment"]["tracking_number"] in message["shipment_details"]
    assert csat["response"] == "utter_ask_csat"  # the contact is resolved
    log, question = events
    assert log["name"] == "action_log" and log["value"][-1]["result"] == "shown"
    assert question["name"] == "csat" and question["value"]["intent"] == "check_order_status"


async def test_order_status_of_an_order_that_is_not_theirs_is_not_found(backends, domain):
    tracker = make_tracker(domain, slots=OMAR | {"order_id": "482913"})
    dispatcher = CollectingDispatcher()
    events = await ActionOrderStatus(backends).run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_order_not_found"
    assert events[0] == SlotSet("order_id", None)


async def test_order_status_with_the_backend_down_escalates(backends, domain, sandbox_faults):
    sandbox_faults(error_status=503, error_rate=1.0, path_prefix="/orders")
    tracker = make_tracker(domain, slots=JANE | {"order_id": "482913"})
    dispatcher = CollectingDispatcher()
    events = await ActionOrderStatus(backends).run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_backend_error"
    assert events[1:] == [
        SlotSet("handoff_reason", "backend_error"),
        FollowupAction("action_handoff"),
    ]


async def test_ask_order_id_offers_recent_orders_as_buttons(backends, domain):
    dispatcher = CollectingDispatcher()
    await ActionAskOrderId(backends).run(dispatcher, make_tracker(domain, slots=JANE), domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_choose_order"
    assert all(b["payload"].startswith('/inform{"order_id": "4829') for b in message["buttons"])


async def test_confirmation_repeats_every_detail(backends, domain):
    tracker = make_tracker(domain, slots=JANE | {"order_id": "482916"})
    dispatcher = CollectingDispatcher()
    assert await ActionAskCancelConfirmed(backends).run(dispatcher, tracker, domain) == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_ask_cancel_confirmed"
    assert message["order_id"] == "482916" and message["total"].startswith("$")
    assert message["items"] and "charged" in message["refund_note"]


async def test_cancel_without_a_yes_changes_nothing(backends, domain, sandbox):
    before = order(sandbox, "482916")
    tracker = make_tracker(domain, slots=JANE | {"order_id": "482916", "cancel_confirmed": False})
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOrder(backends).run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_cancel_kept"
    assert events[0] == SlotSet("cancel_confirmed", None)
    assert order(sandbox, "482916") == before


async def test_cancel_is_idempotent_when_the_action_runs_twice(backends, domain, sandbox):
    tracker = make_tracker(
        domain,
        slots=OMAR | {"order_id": "551203", "cancel_confirmed": True},
        sender_id="retry-conversation",
        intent="affirm",
        history=[confirmation_question("utter_ask_cancel_confirmed", order_id="551203")],
    )
    first, second = CollectingDispatcher(), CollectingDispatcher()
    first_events = await ActionCancelOrder(backends).run(first, tracker, domain)
    cancelled = order(sandbox, "551203")
    second_events = await ActionCancelOrder(backends).run(second, tracker, domain)

    assert cancelled["state"] == "cancelled"
    assert order(sandbox, "551203") == cancelled  # the retry wrote nothing
    assert first.messages == second.messages
    assert first.messages[0]["response"] == "utter_order_cancelled"
    assert "refunded" in first.messages[0]["refund_note"]
    assert [e["name"] for e in first_events] == [e["name"] for e in second_events]
    assert first_events[2] == SlotSet("order_id", None)


async def test_cancel_of_a_packed_order_goes_to_a_person(backends, domain, sandbox):
    # policies/escalation.yml lets the assistant cancel placed or paid orders only.
    tracker = make_tracker(
        domain,
        slots=OMAR | {"order_id": "551200", "cancel_confirmed": True},
        intent="affirm",
        history=[confirmation_question("utter_ask_cancel_confirmed", order_id="551200")],
    )
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOrder(backends).run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_write_needs_human"
    assert events[-1] == FollowupAction("action_handoff")
    assert events[-2]["value"]["id"] == "escalation.writes.cancel_order.order_state"
    assert order(sandbox, "551200")["state"] == "packed"

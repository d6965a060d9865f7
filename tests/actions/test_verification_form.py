"""Verification inside the forms: the exact events the validation actions return."""

from __future__ import annotations

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.order_cancellation import ValidateCancelOrderForm
from actions.order_status import ValidateOrderStatusForm
from tests.actions.conftest import make_tracker, slot_events


def order_status_tracker(domain, candidates: dict):
    """The order status form with ``candidates`` just given (slots and their events)."""
    return make_tracker(
        domain, slots=candidates, events=slot_events(**candidates), active_loop="order_status_form"
    )


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]


async def test_email_and_zip_verify_and_ask_for_the_order(backends, domain):
    candidates = {"email": "Jane.Doe@Example.com", "verification_secret": "94107"}
    tracker = order_status_tracker(domain, candidates)
    dispatcher = CollectingDispatcher()
    events = await ValidateOrderStatusForm(backends).run(dispatcher, tracker, domain)
    assert events == [
        SlotSet("email", "jane.doe@example.com"),
        SlotSet("verification_secret", "94107"),
        SlotSet("customer_verified", True),
        SlotSet("customer_id", "C1001"),
        SlotSet("customer_first_name", "Jane"),
        SlotSet("requested_slot", "order_id"),
    ]
    assert responses(dispatcher) == ["utter_verified"]


async def test_an_order_number_verifies_and_fills_the_order(backends, domain):
    candidates = {
        "email": "jane.doe@example.com",
        "verification_secret": "482913",
        "order_id": "482913",
    }
    tracker = order_status_tracker(domain, candidates)
    events = await ValidateOrderStatusForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert SlotSet("customer_verified", True) in events
    assert SlotSet("order_id", "482913") in events
    assert events[-1] == SlotSet("requested_slot", None)  # form complete


async def test_someone_elses_order_does_not_verify(backends, domain):
    # 551200 belongs to Omar, not Jane.
    candidates = {"email": "jane.doe@example.com", "verification_secret": "551200"}
    tracker = order_status_tracker(domain, candidates)
    dispatcher = CollectingDispatcher()
    events = await ValidateOrderStatusForm(backends).run(dispatcher, tracker, domain)
    assert events == [
        SlotSet("email", "jane.doe@example.com"),
        SlotSet("verification_secret", "551200"),
        SlotSet("verification_attempts", 1.0),
        SlotSet("email", None),
        SlotSet("verification_secret", None),
        SlotSet("order_id", None),
    ]  # no requested_slot: with nothing verified Rasa asks the form's next slot, email
    assert dispatcher.messages[0]["response"] == "utter_verification_failed"
    assert dispatcher.messages[0]["attempts_left"] == 2


async def test_the_third_failure_ends_the_form_for_a_human(backends, domain):
    candidates = {"email": "nobody@example.org", "verification_secret": "10001"}
    tracker = make_tracker(
        domain,
        slots=candidates | {"verification_attempts": 2.0},
        events=slot_events(**candidates),
        active_loop="cancel_order_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ValidateCancelOrderForm(backends).run(dispatcher, tracker, domain)
    assert events[-4:] == [
        SlotSet("verification_attempts", 3.0),
        SlotSet("needs_human", True),
        SlotSet("handoff_reason", "verification_failed"),
        SlotSet("requested_slot", None),
    ]
    assert responses(dispatcher) == ["utter_verification_locked"]


async def test_a_malformed_email_is_rejected_without_calling_the_crm(backends, domain):
    tracker = make_tracker(
        domain,
        slots={"email": "jane at example"},
        events=slot_events(email="jane at example"),
        active_loop="order_status_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ValidateOrderStatusForm(backends).run(dispatcher, tracker, domain)
    assert events == [SlotSet("email", None)]
    assert responses(dispatcher) == ["utter_invalid_email"]


async def test_crm_down_ends_the_form_for_a_human(backends, domain, sandbox_faults):
    sandbox_faults(error_status=503, error_rate=1.0, path_prefix="/crm")
    candidates = {"email": "jane.doe@example.com", "verification_secret": "94107"}
    tracker = order_status_tracker(domain, candidates)
    dispatcher = CollectingDispatcher()
    events = await ValidateOrderStatusForm(backends).run(dispatcher, tracker, domain)
    assert events[-3:] == [
        SlotSet("needs_human", True),
        SlotSet("handoff_reason", "backend_error"),
        SlotSet("requested_slot", None),
    ]
    assert responses(dispatcher) == ["utter_backend_error"]


async def test_a_shipped_order_skips_the_confirmation(backends, domain):
    verified = {"customer_verified": True, "customer_id": "C1001"}
    tracker = make_tracker(
        domain,
        slots=verified | {"order_id": "482913"},
        events=slot_events(order_id="482913"),
        active_loop="cancel_order_form",
    )
    events = await ValidateCancelOrderForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert events == [
        SlotSet("order_id", "482913"),
        SlotSet("cancel_confirmed", False),
        SlotSet("requested_slot", None),
    ]

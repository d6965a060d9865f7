"""The contact-type flows' actions: real trackers, the real sandbox, exact events."""

from __future__ import annotations

import logging

import pytest
import requests
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.account_changes import (
    ActionAskAccountChangeConfirmed,
    ActionAskAccountNewValue,
    ActionChangeAccount,
    ValidateAccountChangeForm,
)
from actions.billing import (
    ActionAskDisputeConfirmed,
    ActionDisputeCharge,
    ActionExplainCharge,
    ActionListInvoices,
    ValidateBillingForm,
)
from actions.csat import ActionSaveCsat
from actions.flow_control import ActionStopFlow
from actions.order_cancellation import ValidateCancelOrderForm
from actions.order_status import ValidateOrderStatusForm
from actions.orders import ActionAskOrderId
from actions.password_reset import (
    ActionAskResetConfirmed,
    ActionSendPasswordReset,
    ValidatePasswordResetForm,
)
from actions.returns import ActionAskReturnConfirmed, ActionProcessReturn, ValidateReturnForm
from tests.actions.conftest import confirmation_question, make_tracker, slot_events
from tests.support.consent import consent_events


def verified(customer_id: str, first_name: str) -> dict:
    return {
        "customer_verified": True,
        "customer_id": customer_id,
        "customer_first_name": first_name,
    }


JANE, OMAR, LI = verified("C1001", "Jane"), verified("C1002", "Omar"), verified("C1003", "Li")


def earlier(**slots) -> list[dict]:
    """Slot events of an earlier turn (placed before the latest user message)."""
    return [{"event": "slot", "name": k, "value": v, "timestamp": None} for k, v in slots.items()]


def with_history(tracker, history: list[dict]):
    """Puts ``history`` before the latest user message."""
    tracker.events[:0] = history
    return tracker


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]


def sandbox_get(sandbox, path: str) -> dict:
    return requests.get(f"{sandbox.url}{path}", timeout=10).json()


# -- returns -------------------------------------------------------------------------------


async def test_an_eligible_order_asks_for_the_yes(backends, domain):
    tracker = make_tracker(
        domain,
        slots=OMAR | {"order_id": "551201", "requested_slot": "order_id"},
        events=slot_events(order_id="551201"),
        entities=[{"entity": "order_id", "value": "551201"}],
        active_loop="return_form",
    )
    events = await ValidateReturnForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert events == [SlotSet("order_id", "551201"), SlotSet("requested_slot", "return_confirmed")]


async def test_an_order_over_the_limit_skips_the_question(backends, domain):
    tracker = make_tracker(
        domain,
        slots=JANE | {"order_id": "482915", "requested_slot": "order_id"},
        events=slot_events(order_id="482915"),
        entities=[{"entity": "order_id", "value": "482915"}],
        active_loop="return_form",
    )
    events = await ValidateReturnForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert events == [
        SlotSet("order_id", "482915"),
        SlotSet("return_confirmed", False),
        SlotSet("requested_slot", None),
    ]


async def test_the_return_question_repeats_every_detail(backends, domain):
    tracker = make_tracker(domain, slots=OMAR | {"order_id": "551201"})
    dispatcher = CollectingDispatcher()
    assert await ActionAskReturnConfirmed(backends).run(dispatcher, tracker, domain) == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_ask_return_confirmed"
    assert message["order_id"] == "551201" and message["amount"] == "$122.00"
    assert message["card"] == "Mastercard card ending 5454"
    assert "Commuter Laptop Backpack" in message["items"]


async def test_a_confirmed_return_is_made_and_rated(backends, domain, sandbox):
    tracker = make_tracker(
        domain,
        slots=verified("C1047", "Nora") | {"order_id": "150445", "return_confirmed": True},
        sender_id="return-yes",
        intent="affirm",
        history=consent_events("utter_ask_return_confirmed", order_id="150445"),
    )
    dispatcher = CollectingDispatcher()
    events = await ActionProcessReturn(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_return_done", "utter_ask_csat"]
    assert events[0] == SlotSet("return_confirmed", None)
    assert events[1]["name"] == "action_log"
    assert events[1]["value"][-1]["result"] == "returned"
    assert events[2] == SlotSet("order_id", None)
    assert events[3]["name"] == "csat" and events[3]["value"]["intent"] == "request_return"
    assert sandbox_get(sandbox, "/orders/150445")["state"] == "returned"


async def test_a_return_over_the_limit_goes_to_a_person_with_the_rule(backends, domain, sandbox):
    tracker = make_tracker(domain, slots=JANE | {"order_id": "482915", "return_confirmed": False})
    dispatcher = CollectingDispatcher()
    events = await ActionProcessReturn(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_return_needs_approval"]
    assert dispatcher.messages[0]["limit"] == "$125.00"
    assert events[0] == SlotSet("return_confirmed", None)
    assert events[-3] == SlotSet("handoff_reason", "policy")
    assert events[-2]["name"] == "handoff_note"
    assert "refund.max_automatic_amount" in events[-2]["value"]
    assert events[-1] == FollowupAction("action_handoff")
    assert sandbox_get(sandbox, "/orders/482915")["state"] == "delivered"


# -- context: the second one, no I meant, and my other order -------------------------------


async def test_the_second_one_picks_from_the_orders_offered(backends, domain):
    tracker = make_tracker(
        domain,
        slots=JANE
        | {"requested_slot": "order_id", "listed_orders": ["482916", "482914", "482913"]},
        entities=[{"entity": "ordinal", "value": "2"}],
        text="the second one",
        active_loop="cancel_order_form",
    )
    events = await ValidateCancelOrderForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert events == [SlotSet("order_id", "482914"), SlotSet("requested_slot", "cancel_confirmed")]


async def test_a_position_that_was_not_offered_is_asked_again(backends, domain):
    tracker = make_tracker(
        domain,
        slots=JANE | {"requested_slot": "order_id", "listed_orders": ["482916"]},
        entities=[{"entity": "ordinal", "value": "3"}],
        active_loop="cancel_order_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ValidateCancelOrderForm(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_which_listed_order"]
    assert events == [SlotSet("order_id", None), SlotSet("requested_slot", "order_id")]


async def test_no_i_meant_another_order_asks_again_about_that_one(backends, domain):
    tracker = with_history(
        make_tracker(
            domain,
            slots=JANE
            | {
                "order_id": "482914",
                "cancel_confirmed": False,
                "requested_slot": "cancel_confirmed",
            },
            events=slot_events(cancel_confirmed=False),
            intent="deny",
            text="no, I meant order 482916",
            entities=[{"entity": "order_id", "value": "482916"}],
            active_loop="cancel_order_form",
        ),
        earlier(order_id="482914"),
    )
    events = await ValidateCancelOrderForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert SlotSet("order_id", "482916") in events
    assert SlotSet("cancel_confirmed", None) in events  # the "no" was about the other order
    assert events[-1] == SlotSet("requested_slot", "cancel_confirmed")


async def test_and_my_other_order_asks_which_leaving_out_the_one_shown(backends, domain):
    tracker = with_history(
        make_tracker(
            domain,
            slots=JANE | {"order_id": "482913"},
            events=slot_events(order_id="482913"),
            intent="check_order_status",
            text="and my other order?",
            active_loop="order_status_form",
        ),
        earlier(order_id="482913"),
    )
    events = await ValidateOrderStatusForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert events == [
        SlotSet("order_id", None),
        SlotSet("previous_order_id", "482913"),
        SlotSet("requested_slot", "order_id"),
    ]
    dispatcher = CollectingDispatcher()
    asked = make_tracker(domain, slots=JANE | {"previous_order_id": "482913"})
    [listed] = await ActionAskOrderId(backends).run(dispatcher, asked, domain)
    assert listed["name"] == "listed_orders" and "482913" not in listed["value"]
    assert len(listed["value"]) == 3


async def test_cancel_it_uses_the_order_in_context(backends, domain):
    tracker = with_history(
        make_tracker(
            domain,
            slots=JANE | {"order_id": "482916"},
            events=slot_events(order_id="482916"),
            intent="cancel_order",
            text="cancel it",
            active_loop="cancel_order_form",
        ),
        earlier(order_id="482916"),
    )
    events = await ValidateCancelOrderForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert events == [SlotSet("order_id", "482916"), SlotSet("requested_slot", "cancel_confirmed")]


# -- billing -------------------------------------------------------------------------------


async def test_invoices_need_nothing_but_verification(backends, domain):
    tracker = make_tracker(
        domain, slots=JANE | {"billing_topic": "invoices"}, active_loop="billing_form"
    )
    events = await ValidateBillingForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert events == [SlotSet("requested_slot", None)]
    dispatcher = CollectingDispatcher()
    events = await ActionListInvoices(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_invoices", "utter_ask_csat"]
    assert dispatcher.messages[0]["invoices"].count("INV-") == 5
    assert "Visa card ending 4242" in dispatcher.messages[0]["invoices"]
    assert events[1:4] == [
        SlotSet("charge_amount", None),
        SlotSet("dispute_confirmed", None),
        SlotSet("disputed_charge_id", None),
    ]


async def test_a_charge_is_asked_for_then_explained(backends, domain):
    tracker = make_tracker(
        domain, slots=JANE | {"billing_topic": "charge"}, active_loop="billing_form"
    )
    events = await ValidateBillingForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert events == [SlotSet("requested_slot", "charge_amount")]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        domain, slots=JANE | {"billing_topic": "charge", "charge_amount": "59.90"}
    )
    await ActionExplainCharge(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_charge_explained", "utter_ask_csat"]
    assert "order 482914" in dispatcher.messages[0]["explanation"]


async def test_a_duplicate_is_found_before_the_question(backends, domain):
    tracker = make_tracker(
        domain, slots=LI | {"billing_topic": "double_charge"}, active_loop="billing_form"
    )
    events = await ValidateBillingForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert events[0]["name"] == "disputed_charge_id" and events[0]["value"].startswith("ch_")
    assert events[1] == SlotSet("requested_slot", "dispute_confirmed")
    dispatcher = CollectingDispatcher()
    await ActionAskDisputeConfirmed(backends).run(dispatcher, tracker, domain)
    [question] = dispatcher.messages
    assert question["response"] == "utter_ask_dispute_confirmed"
    assert (question["invoice_id"], question["amount"], question["apart"]) == (
        "INV-100012",
        "$113.00",
        "47 seconds later",
    )
    assert question["card"] == "American Express card ending 0005"


async def test_no_duplicate_ends_the_form_without_a_question(backends, domain):
    tracker = make_tracker(
        domain, slots=JANE | {"billing_topic": "double_charge"}, active_loop="billing_form"
    )
    events = await ValidateBillingForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert events == [SlotSet("dispute_confirmed", False), SlotSet("requested_slot", None)]


async def test_a_confirmed_dispute_is_opened_and_handed_to_billing(backends, domain, sandbox):
    invoices = sandbox_get(sandbox, "/billing/customers/C1056/invoices")["invoices"]
    [invoice] = [i for i in invoices if i["id"] == "INV-100223"]
    duplicate = invoice["charges"][1]["id"]
    slots = verified("C1056", "Samuel") | {
        "billing_topic": "double_charge",
        "disputed_charge_id": duplicate,
        "dispute_confirmed": True,
    }
    dispatcher = CollectingDispatcher()
    yes = consent_events("utter_ask_dispute_confirmed", slots={"disputed_charge_id": duplicate})
    events = await ActionDisputeCharge(backends).run(
        dispatcher,
        make_tracker(domain, slots=slots, sender_id="dispute-yes", intent="affirm", history=yes),
        domain,
    )
    assert responses(dispatcher) == ["utter_dispute_opened"]
    [dispute] = sandbox_get(sandbox, "/billing/customers/C1056/disputes")["disputes"]
    assert (
        dispute["charge_id"] == duplicate and dispatcher.messages[0]["dispute_id"] == dispute["id"]
    )
    assert events[-3] == SlotSet("handoff_reason", "policy")
    assert dispute["id"] in events[-2]["value"] and events[-1] == FollowupAction("action_handoff")


# -- password reset ------------------------------------------------------------------------


async def test_password_reset_question_and_link(backends, domain, sandbox):
    customer = verified("C1031", "Yusuf")
    dispatcher = CollectingDispatcher()
    await ActionAskResetConfirmed(backends).run(
        dispatcher, make_tracker(domain, slots=customer), domain
    )
    assert dispatcher.messages == [
        {
            **dispatcher.messages[0],
            "response": "utter_ask_reset_confirmed",
            "email": "y***@example.com",
        }
    ]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        domain,
        slots=customer | {"reset_confirmed": True},
        sender_id="reset-yes",
        intent="affirm",
        history=consent_events("utter_ask_reset_confirmed", slots={"customer_id": "C1031"}),
    )
    events = await ActionSendPasswordReset(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_password_reset_sent", "utter_ask_csat"]
    assert dispatcher.messages[0]["email"] == "y***@example.com"
    assert events[0] == SlotSet("reset_confirmed", None)
    [reset] = sandbox_get(sandbox, "/crm/customers/C1031/password-resets")["password_resets"]
    assert reset["sent_to"] == "yusuf.hughes@example.com"


# -- account changes -----------------------------------------------------------------------


async def test_a_new_address_is_checked_then_confirmed(backends, domain):
    customer = verified("C1025", "Leila") | {"account_field": "shipping_address"}
    dispatcher = CollectingDispatcher()
    await ActionAskAccountNewValue().run(dispatcher, make_tracker(domain, slots=customer), domain)
    assert responses(dispatcher) == ["utter_ask_new_address"]

    bad = make_tracker(
        domain,
        slots=customer
        | {"account_new_value": "somewhere nice", "requested_slot": "account_new_value"},
        events=slot_events(account_new_value="somewhere nice"),
        active_loop="account_change_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ValidateAccountChangeForm(backends).run(dispatcher, bad, domain)
    assert responses(dispatcher) == ["utter_invalid_new_address"]
    assert events == [
        SlotSet("account_new_value", None),
        SlotSet("requested_slot", "account_new_value"),
    ]

    address = "77 Harbor Rd, Salem, MA 01970"
    good = make_tracker(
        domain,
        slots=customer | {"account_new_value": address, "requested_slot": "account_new_value"},
        events=slot_events(account_new_value=address),
        active_loop="account_change_form",
    )
    events = await ValidateAccountChangeForm(backends).run(CollectingDispatcher(), good, domain)
    assert events == [
        SlotSet("account_new_value", address),
        SlotSet("requested_slot", "account_change_confirmed"),
    ]
    dispatcher = CollectingDispatcher()
    prompt = make_tracker(domain, slots=customer | {"account_new_value": address})
    await ActionAskAccountChangeConfirmed(backends).run(dispatcher, prompt, domain)
    [question] = dispatcher.messages
    assert question["response"] == "utter_ask_account_change_confirmed"
    assert question["current"] == "*** Atlanta, GA 48070" and question["new_value"] == address


async def test_an_account_change_is_applied_after_a_yes(backends, domain, sandbox):
    address = "77 Harbor Rd, Salem, MA 01970"
    slots = verified("C1025", "Leila") | {
        "account_field": "shipping_address",
        "account_new_value": address,
        "account_change_confirmed": True,
    }
    dispatcher = CollectingDispatcher()
    yes = consent_events("utter_ask_account_change_confirmed", new_value=address)
    events = await ActionChangeAccount(backends).run(
        dispatcher,
        make_tracker(domain, slots=slots, sender_id="address-yes", intent="affirm", history=yes),
        domain,
    )
    assert responses(dispatcher) == ["utter_account_changed_address", "utter_ask_csat"]
    assert events[:3] == [
        SlotSet("account_field", None),
        SlotSet("account_new_value", None),
        SlotSet("account_change_confirmed", None),
    ]
    assert events[-1]["value"]["intent"] == "change_shipping_address"
    assert sandbox_get(sandbox, "/crm/customers/C1025")["shipping_address"] == address


async def test_a_no_changes_nothing(backends, domain, sandbox):
    before = sandbox_get(sandbox, "/crm/customers/C1002")
    slots = OMAR | {
        "account_field": "email",
        "account_new_value": "omar@example.org",
        "account_change_confirmed": False,
    }
    dispatcher = CollectingDispatcher()
    await ActionChangeAccount(backends).run(dispatcher, make_tracker(domain, slots=slots), domain)
    assert responses(dispatcher) == ["utter_account_change_kept"]
    assert sandbox_get(sandbox, "/crm/customers/C1002") == before


# -- CSAT and stopping ---------------------------------------------------------------------


async def test_a_rating_with_a_comment_is_stored(backends, domain):
    pending = {"feedback_id": "csat-action-test", "intent": "cancel_order", "rated": False}
    tracker = make_tracker(
        domain,
        slots={"csat": pending},
        intent="csat_feedback",
        text="4, quick but the buttons were tiny",
        entities=[{"entity": "rating", "value": "4"}],
        sender_id="csat-action",
        history=[confirmation_question("utter_ask_csat")],  # right after the question
    )
    dispatcher = CollectingDispatcher()
    events = await ActionSaveCsat(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_csat_thanks"]
    assert events == [SlotSet("csat", pending | {"rated": True})]
    [record] = backends.feedback.for_conversation("csat-action")
    assert (record.score, record.intent, record.channel) == (4, "cancel_order", "rest")
    assert record.comment == "4, quick but the buttons were tiny"


async def test_stop_forgets_the_half_made_change(domain):
    tracker = make_tracker(
        domain,
        slots=JANE
        | {"order_id": "482914", "account_field": "email", "account_new_value": "x@example.org"},
    )
    dispatcher = CollectingDispatcher()
    events = await ActionStopFlow().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_flow_stopped"]
    assert events == [SlotSet("account_field", None), SlotSet("account_new_value", None)]


# -- confirmation answers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("validator", "form", "slot", "slots"),
    [
        (ValidateCancelOrderForm, "cancel_order_form", "cancel_confirmed", {"order_id": "551201"}),
        (ValidateReturnForm, "return_form", "return_confirmed", {"order_id": "551201"}),
        (
            ValidateBillingForm,
            "billing_form",
            "dispute_confirmed",
            {"billing_topic": "double_charge", "order_id": "551201"},
        ),
        (ValidatePasswordResetForm, "password_reset_form", "reset_confirmed", {}),
        (
            ValidateAccountChangeForm,
            "account_change_form",
            "account_change_confirmed",
            {"account_field": "email", "account_new_value": "omar@example.org"},
        ),
    ],
)
@pytest.mark.parametrize("answer", [True, False])
async def test_a_yes_or_no_is_validated_not_skipped(
    backends, domain, caplog, validator, form, slot, slots, answer
):
    tracker = make_tracker(
        domain,
        slots=OMAR | slots | {slot: answer, "requested_slot": slot},
        events=slot_events(**{slot: answer}),
        intent="affirm" if answer else "deny",
        active_loop=form,
    )
    with caplog.at_level(logging.WARNING, logger="rasa_sdk.forms"):
        events = await validator(backends).get_validation_events(
            CollectingDispatcher(), tracker, domain
        )
    assert SlotSet(slot, answer) in events
    assert "Skipping validation" not in caplog.text

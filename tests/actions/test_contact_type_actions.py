"""The contact types of issue 17: real trackers, the real sandbox, exact events.

Refund status, late delivery, invoice copy, payment problems, protected details and
privacy requests. Dates are judged at the sandbox's date (the injected clock).
"""

from __future__ import annotations

from datetime import timedelta

import requests
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backends import Backends
from actions.handoff import ActionHandoff
from actions.invoice_copy import ActionSendInvoiceCopy, ValidateInvoiceCopyForm
from actions.late_delivery import ActionLateDelivery
from actions.payment_problem import ActionPaymentStatus
from actions.protected_requests import ActionExplainPrivacyRequest, ActionExplainProtectedChange
from actions.refund_status import ActionRefundStatus
from frontline.services.protected_requests import PRIVACY_REQUEST_EXPLAINED
from tests.actions.conftest import SANDBOX_NOW, make_tracker, slot_events


def verified(customer_id: str, first_name: str) -> dict:
    return {
        "customer_verified": True,
        "customer_id": customer_id,
        "customer_first_name": first_name,
    }


JANE, OMAR, LI = verified("C1001", "Jane"), verified("C1002", "Omar"), verified("C1003", "Li")


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]


def log_of(events: list) -> dict:
    [log] = [e for e in events if e.get("name") == "action_log"]
    return log["value"][-1]


def at(backends: Backends, when) -> Backends:
    """The same backends with the clock at ``when``."""
    return Backends(**{**backends.__dict__, "clock": lambda: when})


# -- refund status -------------------------------------------------------------------------


async def test_a_completed_refund_is_told_with_state_amount_card_and_dates(backends, domain):
    tracker = make_tracker(domain, slots=JANE, intent="refund_status")
    dispatcher = CollectingDispatcher()
    events = await ActionRefundStatus(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_refund_status", "utter_ask_csat"]
    lines = dispatcher.messages[0]["refund_lines"]
    assert lines == (
        "• Order 482917: $199.00 back to your Visa card ending 4242, issued Sat 12 Sep, "
        "has been paid back (reached your card by Fri 18 Sep)."
    )
    assert log_of(events)["result"] == "shown" and log_of(events)["detail"] == "482917 completed"
    assert events[-1]["name"] == "csat" and events[-1]["value"]["intent"] == "refund_status"


async def test_an_overdue_refund_is_apologised_for_and_handed_off(backends, domain):
    tracker = make_tracker(domain, slots=OMAR | {"order_id": "551202"}, intent="refund_status")
    dispatcher = CollectingDispatcher()
    events = await ActionRefundStatus(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_refund_overdue"]
    message = dispatcher.messages[0]
    assert message["order_id"] == "551202" and message["expected_on"] == "Sun 27 Sep"
    assert "issued Sun 20 Sep, has been sent to your bank" in message["refund_lines"]
    assert "Mastercard card ending 5454" in message["refund_lines"]
    assert log_of(events)["result"] == "overdue"
    assert events[1] == SlotSet("handoff_reason", "refund_overdue")
    assert events[2]["name"] == "handoff_note"
    assert "order 551202 ($69.00, RF-100008) is 35 days past" in events[2]["value"]
    assert "returns 1.1.0, refund.overdue_after_days" in events[2]["value"]
    assert events[3] == FollowupAction("action_handoff")


async def test_a_refund_is_not_overdue_within_the_policys_days(backends, domain):
    # Two days after the expected arrival: under way, not overdue (the policy says 3).
    expected = SANDBOX_NOW.replace(year=2026, month=9, day=27, hour=9)
    tracker = make_tracker(domain, slots=OMAR | {"order_id": "551202"}, intent="refund_status")
    dispatcher = CollectingDispatcher()
    events = await ActionRefundStatus(at(backends, expected + timedelta(days=2))).run(
        dispatcher, tracker, domain
    )
    assert responses(dispatcher) == ["utter_refund_status", "utter_ask_csat"]
    assert "expected on your card by Sun 27 Sep" in dispatcher.messages[0]["refund_lines"]
    assert SlotSet("handoff_reason", "refund_overdue") not in events


async def test_no_refund_says_so(backends, domain):
    tracker = make_tracker(domain, slots=LI, intent="refund_status")
    dispatcher = CollectingDispatcher()
    events = await ActionRefundStatus(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher)[0] == "utter_refund_none"
    assert log_of(events)["result"] == "none"


async def test_refunds_unavailable_hand_off_as_a_backend_error(backends, domain, sandbox_faults):
    sandbox_faults(error_status=503, path_prefix="/billing")
    tracker = make_tracker(domain, slots=JANE, intent="refund_status")
    dispatcher = CollectingDispatcher()
    events = await ActionRefundStatus(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_backend_error"]
    assert events[1:] == [
        SlotSet("handoff_reason", "backend_error"),
        FollowupAction("action_handoff"),
    ]


# -- late delivery -------------------------------------------------------------------------


async def test_an_order_before_its_promise_is_not_late(backends, domain):
    tracker = make_tracker(domain, slots=JANE | {"order_id": "482913"}, intent="late_delivery")
    dispatcher = CollectingDispatcher()
    events = await ActionLateDelivery(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_delivery_on_time", "utter_ask_csat"]
    message = dispatcher.messages[0]
    assert message["promised_on"] == "Tue 3 Nov" and message["state_description"] == "on its way"
    assert "UPS tracking number 1Z999AA10123456784" in message["shipment_details"]
    assert log_of(events)["detail"] == "order 482913: on_time"


async def test_an_order_past_its_promise_by_the_policys_days_goes_to_a_person(backends, domain):
    tracker = make_tracker(domain, slots=LI | {"order_id": "630002"}, intent="late_delivery")
    dispatcher = CollectingDispatcher()
    events = await ActionLateDelivery(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_delivery_late"]
    message = dispatcher.messages[0]
    assert message["promised_on"] == "Fri 30 Oct" and message["days_late"] == "1"
    assert events[1] == SlotSet("handoff_reason", "late_delivery")
    assert events[2]["name"] == "handoff_note"
    assert "promised by Fri 30 Oct and is 1 days late (delivery 1.0.0, late_after_days)" in (
        events[2]["value"]
    )
    assert events[3] == FollowupAction("action_handoff")


async def test_an_order_just_past_its_promise_is_behind_not_yet_handed_off(backends, domain):
    promised = SANDBOX_NOW.replace(month=10, day=30, hour=20, minute=0)
    tracker = make_tracker(domain, slots=LI | {"order_id": "630002"}, intent="late_delivery")
    dispatcher = CollectingDispatcher()
    late_backends = at(backends, promised + timedelta(hours=6))
    events = await ActionLateDelivery(late_backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_delivery_behind", "utter_ask_csat"]
    assert SlotSet("handoff_reason", "late_delivery") not in events


async def test_delivered_but_not_received_is_a_claim_for_a_person(backends, domain):
    tracker = make_tracker(domain, slots=JANE | {"order_id": "482915"}, intent="late_delivery")
    dispatcher = CollectingDispatcher()
    events = await ActionLateDelivery(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_delivery_missing"]
    assert dispatcher.messages[0]["delivered_on"] == "Fri 9 Oct"
    assert events[1] == SlotSet("handoff_reason", "late_delivery")
    assert "customer says it never arrived" in events[2]["value"]


async def test_someone_elses_order_is_not_found(backends, domain):
    tracker = make_tracker(domain, slots=JANE | {"order_id": "630002"}, intent="late_delivery")
    dispatcher = CollectingDispatcher()
    events = await ActionLateDelivery(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_order_not_found"]
    assert events[0] == SlotSet("order_id", None) and log_of(events)["result"] == "not_found"


# -- invoice copy --------------------------------------------------------------------------


def invoice_emails(sandbox, customer_id: str) -> list[dict]:
    url = f"{sandbox.url}/billing/customers/{customer_id}/invoice-emails"
    return requests.get(url, timeout=10).json()["invoice_emails"]


async def test_an_invoice_copy_is_emailed_to_the_address_on_file_once(backends, domain, sandbox):
    before = invoice_emails(sandbox, "C1003")
    tracker = make_tracker(
        domain, slots=LI | {"order_id": "630003"}, intent="invoice_copy", sender_id="inv-copy"
    )
    dispatcher = CollectingDispatcher()
    events = await ActionSendInvoiceCopy(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_invoice_copy_sent", "utter_ask_csat"]
    message = dispatcher.messages[0]
    assert message["order_id"] == "630003" and message["email"] == "l***@example.net"
    entry = log_of(events)
    assert entry["result"] == "sent" and entry["idempotency_key"].startswith("send-invoice-copy-")
    sent = invoice_emails(sandbox, "C1003")
    assert len(sent) == len(before) + 1 and sent[0]["sent_to"] == "li.wei@example.net"
    assert sent[0]["invoice_id"] == message["invoice_id"]

    # The same message again (a redelivery): the same key, nothing sent twice.
    again = await ActionSendInvoiceCopy(backends).run(CollectingDispatcher(), tracker, domain)
    assert log_of(again)["idempotency_key"] == entry["idempotency_key"]
    assert invoice_emails(sandbox, "C1003") == sent


async def test_an_invoice_copy_needs_a_verified_customer(backends, domain, sandbox):
    # The slots claim Li is verified; the server-side identity store says nobody is.
    tracker = make_tracker(
        domain, slots=LI, intent="invoice_copy", sender_id="inv-unverified", forged=True
    )
    dispatcher = CollectingDispatcher()
    before = invoice_emails(sandbox, "C1003")
    events = await ActionSendInvoiceCopy(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_write_needs_human"]
    assert log_of(events)["rule_id"] == "escalation.writes.send_invoice_copy.verification"
    assert events[1] == SlotSet("handoff_reason", "policy")
    assert events[2]["name"] == "escalation_rule"
    assert events[2]["value"]["id"] == "escalation.writes.send_invoice_copy.verification"
    assert events[3] == FollowupAction("action_handoff")
    assert invoice_emails(sandbox, "C1003") == before


async def test_the_invoice_form_asks_who_you_are_first(backends, domain):
    tracker = make_tracker(domain, intent="invoice_copy", active_loop="invoice_copy_form")
    form = ValidateInvoiceCopyForm(backends)
    required = await form.required_slots(
        ["email", "verification_secret"], CollectingDispatcher(), tracker, domain
    )
    assert required == ["email", "verification_secret"]
    verified_tracker = make_tracker(domain, slots=JANE, events=slot_events(email="x@y.z"))
    assert (
        await form.required_slots(
            ["email", "verification_secret"], CollectingDispatcher(), verified_tracker, domain
        )
        == []
    )


# -- payment problems ----------------------------------------------------------------------


async def test_a_pending_payment_says_not_to_pay_again(backends, domain):
    tracker = make_tracker(domain, slots=JANE, intent="payment_problem")
    dispatcher = CollectingDispatcher()
    events = await ActionPaymentStatus(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_payment_pending", "utter_ask_csat"]
    message = dispatcher.messages[0]
    assert message["order_id"] == "482916" and message["card"] == "Visa card ending 4242"
    assert log_of(events)["result"] == "pending"


async def test_a_declined_payment_says_why_and_what_to_do(backends, domain):
    tracker = make_tracker(domain, slots=LI | {"order_id": "630001"}, intent="payment_problem")
    dispatcher = CollectingDispatcher()
    events = await ActionPaymentStatus(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher)[0] == "utter_payment_declined"
    message = dispatcher.messages[0]
    assert message["decline_reason"] == "not enough funds were available"
    assert message["amount"] == "$59.49" and message["card"] == "American Express card ending 0005"
    entry = log_of(events)
    assert (entry["action"], entry["result"], entry["detail"]) == (
        "payment_status",
        "declined",
        "order 630001",
    )


async def test_a_paid_order_says_the_payment_went_through(backends, domain):
    tracker = make_tracker(domain, slots=OMAR | {"order_id": "551201"}, intent="payment_problem")
    dispatcher = CollectingDispatcher()
    await ActionPaymentStatus(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher)[0] == "utter_payment_succeeded"
    assert dispatcher.messages[0]["amount"] == "$122.00"


# -- protected details and privacy requests ------------------------------------------------


async def test_a_protected_change_is_explained_and_handed_off(domain):
    tracker = make_tracker(domain, intent="change_protected_details", text="change my name")
    dispatcher = CollectingDispatcher()
    events = await ActionExplainProtectedChange().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_protected_change_explained"]
    assert log_of(events)["result"] == "handed_off"
    assert events[1:3] == [
        SlotSet("handoff_reason", "protected_change"),
        SlotSet("handoff_note", events[2]["value"]),
    ]
    assert "legal name or date of birth" in events[2]["value"]
    assert events[3] == FollowupAction("action_handoff")


async def test_a_privacy_request_is_explained_and_handed_off(domain):
    tracker = make_tracker(domain, intent="data_request", text="delete my account")
    dispatcher = CollectingDispatcher()
    events = await ActionExplainPrivacyRequest().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_privacy_request_explained"]
    assert events[1] == SlotSet("handoff_reason", "privacy_request")
    assert events[2]["value"].startswith("Privacy request:")
    assert events[3] == FollowupAction("action_handoff")


async def test_the_privacy_handoff_packet_is_marked_and_keeps_the_reason(backends, domain):
    tracker = make_tracker(
        domain, intent="data_request", text="delete my account", sender_id="privacy-1"
    )
    events = await ActionExplainPrivacyRequest().run(CollectingDispatcher(), tracker, domain)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    handed = make_tracker(
        domain, slots=slots, intent="data_request", text="delete my account", sender_id="privacy-1"
    )
    dispatcher = CollectingDispatcher()
    await ActionHandoff(backends).run(dispatcher, handed, domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff"]
    [entry] = backends.queue.find_by_conversation("privacy-1")
    assert entry.packet["privacy_request"] is True
    assert entry.packet["reason"] == {
        "code": "privacy_request",
        "rationale": PRIVACY_REQUEST_EXPLAINED.rationale,
    }
    assert entry.packet["priority"] == "normal"


async def test_the_late_delivery_packet_names_the_rule(backends, domain):
    tracker = make_tracker(
        domain, slots=LI | {"order_id": "630002"}, intent="late_delivery", sender_id="late-1"
    )
    events = await ActionLateDelivery(backends).run(CollectingDispatcher(), tracker, domain)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    handed = make_tracker(
        domain, slots=LI | slots, intent="late_delivery", text="late", sender_id="late-1"
    )
    await ActionHandoff(backends).run(CollectingDispatcher(), handed, domain)
    [entry] = backends.queue.find_by_conversation("late-1")
    assert entry.packet["reason"]["code"] == "late_delivery"
    assert "late_after_days" in entry.packet["reason"]["rationale"]
    assert "privacy_request" not in entry.packet

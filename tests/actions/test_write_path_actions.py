"""The write path seen from the actions: server-side identity, unknown outcomes, flags.

Real trackers, the real sandbox over HTTP (its fault switch makes the backend finish a
write and answer too late), exact events and what the sandbox holds afterwards.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.billing import ActionListInvoices
from actions.handoff import ActionHandoff
from actions.order_cancellation import ActionCancelOrder
from actions.order_status import ActionOrderStatus
from actions.orders import ActionAskOrderId
from frontline.audit import AuditStore
from frontline.flags.write_capabilities import FlagWriteCapabilities
from frontline.writes import set_capability_provider
from tests.actions.conftest import TEST_IDENTITY, confirmation_question, make_tracker
from tests.support.sandbox_orders import sandbox_get, take_cancellable_order

QUESTION = "utter_ask_cancel_confirmed"
_taken: set[str] = set()


@pytest.fixture
def fresh_order(sandbox) -> Iterator[dict]:
    """A cancellable order under $250 that no other test of this module used."""
    yield take_cancellable_order(sandbox, range(1005, 1065), _taken)


@pytest.fixture
def audited(backends, sqlite_url, unique_name):
    return dataclasses.replace(backends, audit=AuditStore(sqlite_url, unique_name))


def cancel_tracker(domain, order: dict, sender: str, *, forged: bool = False):
    slots = {
        "customer_verified": True,
        "customer_id": order["customer_id"],
        "order_id": order["id"],
        "cancel_confirmed": True,
    }
    return make_tracker(
        domain,
        slots=slots,
        intent="affirm",
        text="yes",
        sender_id=sender,
        history=[confirmation_question(QUESTION, order_id=order["id"])],
        forged=forged,
    )


# -- a forged tracker (slots say verified, Frontline's store does not) ----------------


async def test_a_forged_tracker_cannot_cancel_an_order(audited, domain, sandbox, fresh_order):
    tracker = cancel_tracker(domain, fresh_order, "forged-cancel", forged=True)
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOrder(audited).run(dispatcher, tracker, domain)
    assert sandbox_get(sandbox, f"/orders/{fresh_order['id']}")["state"] == fresh_order["state"]
    assert dispatcher.messages[0]["response"] == "utter_order_not_found"
    assert "items" not in dispatcher.messages[0]  # nothing about the order is revealed
    assert events[0] == SlotSet("cancel_confirmed", None)
    assert events[1]["value"][-1]["result"] == "not_found"
    assert audited.audit.records(kind="write") == []


async def test_a_tracker_verified_as_one_customer_cannot_write_to_anothers_order(
    audited, domain, sandbox, fresh_order
):
    tracker = cancel_tracker(domain, fresh_order, "forged-other", forged=True)
    TEST_IDENTITY.record("forged-other", "C1001", method="test")  # verified as Jane
    await ActionCancelOrder(audited).run(CollectingDispatcher(), tracker, domain)
    assert sandbox_get(sandbox, f"/orders/{fresh_order['id']}")["state"] == fresh_order["state"]


async def test_a_forged_tracker_cannot_read_order_status_orders_or_invoices(backends, domain):
    jane = {"customer_verified": True, "customer_id": "C1001", "order_id": "482913"}
    tracker = make_tracker(domain, slots=jane, sender_id="forged-read", forged=True)

    status = CollectingDispatcher()
    await ActionOrderStatus(backends).run(status, tracker, domain)
    assert status.messages[0]["response"] == "utter_order_not_found"
    assert "shipment_details" not in status.messages[0]

    listing = CollectingDispatcher()
    await ActionAskOrderId(backends).run(listing, tracker, domain)
    assert listing.messages == [
        {**listing.messages[0], "response": "utter_ask_order_id", "buttons": []}
    ]

    invoices = CollectingDispatcher()
    await ActionListInvoices(backends).run(invoices, tracker, domain)
    assert "INV-" not in json.dumps(invoices.messages)


async def test_the_same_tracker_verified_server_side_can_read(backends, domain):
    jane = {"customer_verified": True, "customer_id": "C1001", "order_id": "482913"}
    tracker = make_tracker(domain, slots=jane, sender_id="real-read")
    status = CollectingDispatcher()
    await ActionOrderStatus(backends).run(status, tracker, domain)
    assert status.messages[0]["response"] == "utter_order_status"


# -- unknown outcomes: the backend finishes the write and answers too late -------------


async def test_a_timeout_reconciled_by_the_replay_is_reported_as_done(
    audited, domain, sandbox, sandbox_faults, fresh_order
):
    # The backend client times out after 2 s; the first call is answered after 2.5 s,
    # the replay of its key at once (with the first call's result).
    path = f"/orders/{fresh_order['id']}/cancel"
    sandbox_faults(after_ms=2500, path_prefix=path, count=1)
    tracker = cancel_tracker(domain, fresh_order, "late-once")
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOrder(audited).run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_order_cancelled"
    assert sandbox_get(sandbox, f"/orders/{fresh_order['id']}")["state"] == "cancelled"
    assert events[1]["value"][-1]["result"] == "cancelled"
    [record] = audited.audit.records("late-once", kind="write")
    assert record.payload["reconciled"] is True and record.payload["outcome"] == "cancelled"


async def test_an_unconfirmed_write_says_so_and_hands_off_with_outcome_unknown(
    audited, domain, sandbox, sandbox_faults, fresh_order
):
    path = f"/orders/{fresh_order['id']}/cancel"
    sandbox_faults(after_ms=2500, path_prefix=path)  # every answer too late
    tracker = cancel_tracker(domain, fresh_order, "late-always")
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOrder(audited).run(dispatcher, tracker, domain)

    # The backend did cancel: "nothing was changed" would have been false.
    assert sandbox_get(sandbox, f"/orders/{fresh_order['id']}")["state"] == "cancelled"
    [message] = dispatcher.messages
    assert message["response"] == "utter_write_outcome_unknown"
    assert events[1]["value"][-1]["result"] == "outcome_unknown"
    assert events[2] == SlotSet("handoff_reason", "outcome_unknown")
    assert events[3]["name"] == "handoff_note"
    assert "could not confirm whether order" in events[3]["value"]
    assert events[4] == FollowupAction("action_handoff")
    [record] = audited.audit.records("late-always", kind="write")
    assert record.payload["outcome"] == "outcome_unknown"

    # The packet tells the agent the outcome is unknown.
    handed = make_tracker(
        domain,
        slots={
            "customer_verified": True,
            "customer_id": fresh_order["customer_id"],
            "handoff_reason": "outcome_unknown",
            "handoff_note": events[3]["value"],
        },
        sender_id="late-always",
    )
    await ActionHandoff(audited).run(CollectingDispatcher(), handed, domain)
    [entry] = audited.queue.find_by_conversation("late-always")
    assert entry.packet["reason"]["code"] == "outcome_unknown"
    assert "could not confirm whether order" in entry.packet["reason"]["rationale"]


# -- flags: a capability off, the kill switch on -------------------------------------


@pytest.fixture
def flag_world(request):
    from tests.flags.conftest import make_world

    tmp = request.getfixturevalue("tmp_path")
    world = make_world("sqlite", f"sqlite:///{tmp / 'flags.db'}")
    set_capability_provider(FlagWriteCapabilities(world.capabilities))
    yield world
    set_capability_provider(None)


async def test_a_capability_off_refuses_the_write_and_a_person_helps(
    audited, domain, sandbox, fresh_order, flag_world
):
    from tests.flags.conftest import OPERATOR

    flag_world.admin.add_override("write.cancel_order", False, OPERATOR, "cancellations by people")
    tracker = cancel_tracker(domain, fresh_order, "flag-off")
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOrder(audited).run(dispatcher, tracker, domain)

    assert sandbox_get(sandbox, f"/orders/{fresh_order['id']}")["state"] == fresh_order["state"]
    assert dispatcher.messages[0]["response"] == "utter_capability_off"
    assert events[2] == SlotSet("handoff_reason", "capability_off")
    assert events[3]["name"] == "escalation_rule"
    assert events[3]["value"]["id"] == "flags.write.cancel_order"
    assert events[4] == FollowupAction("action_handoff")
    [record] = audited.audit.records("flag-off", kind="write")
    assert record.payload["decision"]["allowed"] is False
    assert record.payload["decision"]["rule_id"] == "flags.write.cancel_order"
    assert record.payload["flags"]["flag"] == "write.cancel_order"
    assert record.payload["flags"]["enabled"] is False


async def test_the_kill_switch_refuses_every_write_with_its_reason(
    audited, domain, sandbox, fresh_order, flag_world
):
    from tests.flags.conftest import OPERATOR

    flag_world.admin.set_kill_switch("writes", OPERATOR, "INC-1")
    tracker = cancel_tracker(domain, fresh_order, "kill-writes")
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOrder(audited).run(dispatcher, tracker, domain)
    assert sandbox_get(sandbox, f"/orders/{fresh_order['id']}")["state"] == fresh_order["state"]
    assert dispatcher.messages[0]["response"] == "utter_kill_switch_writes"
    assert events[2] == SlotSet("handoff_reason", "kill_switch")
    [record] = audited.audit.records("kill-writes", kind="write")
    assert record.payload["flags"]["rule"] == "kill_switch:writes"


async def test_with_the_flag_on_the_write_goes_ahead_and_the_evaluation_is_audited(
    audited, domain, sandbox, fresh_order, flag_world
):
    tracker = cancel_tracker(domain, fresh_order, "flag-on")
    dispatcher = CollectingDispatcher()
    await ActionCancelOrder(audited).run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_order_cancelled"
    [record] = audited.audit.records("flag-on", kind="write")
    assert record.payload["flags"]["enabled"] is True and record.payload["decision"]["allowed"]


async def test_a_forged_trackers_handoff_packet_names_no_customer(backends, domain):
    jane = {"customer_verified": True, "customer_id": "C1001"}
    tracker = make_tracker(
        domain, slots=jane, intent="request_human", sender_id="forged-handoff", forged=True
    )
    await ActionHandoff(backends).run(CollectingDispatcher(), tracker, domain)
    [entry] = backends.queue.find_by_conversation("forged-handoff")
    assert entry.packet["customer"]["customer_id"] is None
    assert entry.packet["customer"]["name"] is None


async def test_a_verification_ends_with_the_session_whose_slots_were_reset(backends, domain):
    # The store still knows Jane from before a restart; the reset slots say nobody is
    # verified in this session, so her orders are not offered until she verifies again.
    tracker = make_tracker(domain, slots={"order_id": "482913"}, sender_id="after-restart")
    TEST_IDENTITY.record("after-restart", "C1001", method="test")
    listing = CollectingDispatcher()
    await ActionAskOrderId(backends).run(listing, tracker, domain)
    assert listing.messages[0]["response"] == "utter_ask_order_id"
    status = CollectingDispatcher()
    await ActionOrderStatus(backends).run(status, tracker, domain)
    assert status.messages[0]["response"] == "utter_order_not_found"

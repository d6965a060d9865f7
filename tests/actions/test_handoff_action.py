"""The handoff action: packet on the queue, customer told, bot paused."""

from __future__ import annotations

import json
from dataclasses import replace

from rasa_sdk.events import (
    ActiveLoop,
    ConversationPaused,
    FollowupAction,
    SlotSet,
    UserUtteranceReverted,
)
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionFallback
from actions.handoff import ActionHandoff
from frontline.handoff.queue import SqlHandoffQueue
from frontline.resilience.outbox import HandoffOutbox
from tests.actions.conftest import make_tracker

JANE = {"customer_verified": True, "customer_id": "C1001", "customer_first_name": "Jane"}


async def test_handoff_queues_a_masked_packet_and_pauses(backends, domain):
    tracker = make_tracker(
        domain,
        slots=JANE | {"email": "jane.doe@example.com", "order_id": "482913"},
        intent="request_human",
        text="I'm jane.doe@example.com, get me a person",
        active_loop="order_status_form",
        sender_id="handoff-1",
    )
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(backends).run(dispatcher, tracker, domain)

    assert events[:4] == [
        SlotSet("needs_human", False),
        SlotSet("handoff_reason", None),
        SlotSet("handoff_note", None),
        SlotSet("escalation_rule", None),
    ]
    assert events[4]["name"] == "action_log" and events[4]["value"][-1]["result"] == "queued"
    assert events[5:] == [ActiveLoop(None), ConversationPaused()]
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff" and message["reference"].startswith("HO-")

    [entry] = backends.queue.find_by_conversation("handoff-1")
    packet = entry.packet
    assert packet["reason"]["code"] == "customer_request"
    assert packet["priority"] == "high"  # gold tier
    assert packet["customer"]["name"] == "Jane D."
    assert "jane.doe@example.com" not in json.dumps(packet)


async def test_handoff_runs_twice_but_queues_once(backends, domain):
    tracker = make_tracker(domain, intent="request_human", text="human", sender_id="handoff-2")
    await ActionHandoff(backends).run(CollectingDispatcher(), tracker, domain)
    await ActionHandoff(backends).run(CollectingDispatcher(), tracker, domain)
    assert len(backends.queue.find_by_conversation("handoff-2")) == 1


async def test_third_fallback_in_a_row_hands_off(backends, domain):
    fallback_turn = [
        {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "action", "name": "action_fallback"},
        {"event": "action", "name": "action_listen"},
    ]
    tracker = make_tracker(domain, intent="nlu_fallback", text="zzz")
    tracker.events[:0] = fallback_turn * 2
    events = await ActionFallback(backends).run(CollectingDispatcher(), tracker, domain)
    assert events == [
        SlotSet("handoff_reason", "repeated_fallback"),
        FollowupAction("action_handoff"),
    ]


async def test_a_message_nlu_did_not_understand_is_kept_and_answered(backends, domain):
    tracker = make_tracker(domain, intent="nlu_fallback", text="zzz")
    dispatcher = CollectingDispatcher()
    events = await ActionFallback(backends).run(dispatcher, tracker, domain)
    assert events == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_rephrase"]


async def test_an_understood_message_the_dialogue_cannot_place_is_reverted(backends, domain):
    # "where is my order?" while the order form waits for the order number: the form
    # rejected it and the rule policy fell back. Without the revert the policies would
    # predict the fallback again and again.
    tracker = make_tracker(
        domain,
        intent="check_order_status",
        text="where is my order?",
        active_loop="order_status_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ActionFallback(backends).run(dispatcher, tracker, domain)
    assert events == [UserUtteranceReverted()]
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_rephrase"]


async def test_a_second_fallback_for_the_same_message_is_reverted(backends, domain):
    tracker = make_tracker(domain, intent="nlu_fallback", text="zzz")
    tracker.events.append({"event": "action", "name": "action_fallback"})
    events = await ActionFallback(backends).run(CollectingDispatcher(), tracker, domain)
    assert events == [UserUtteranceReverted()]


#: A PostgreSQL URL where nothing listens: the queue's store is down.
QUEUE_DOWN_URL = "postgresql://postgres@127.0.0.1:1/test"


async def test_with_the_queue_down_the_handoff_waits_in_the_outbox(backends, domain, tmp_path):
    outbox = HandoffOutbox(f"sqlite:///{tmp_path / 'outbox.db'}")
    down = replace(backends, queue=SqlHandoffQueue(QUEUE_DOWN_URL), outbox=outbox)
    tracker = make_tracker(domain, intent="request_human", text="a person please", sender_id="ho-3")
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(down).run(dispatcher, tracker, domain)

    # The customer is told as for any handoff, and the bot steps back.
    [message] = dispatcher.messages
    [waiting] = outbox.waiting()
    assert message["response"] == "utter_handoff" and message["reference"] == waiting.reference
    assert events[-1] == ConversationPaused()
    assert events[4]["value"][-1]["result"] == "queued"
    assert waiting.cause.startswith("queue: ")
    assert waiting.packet["reason"]["code"] == "customer_request"  # why the customer asked

    # Once the queue answers, the packet is delivered once.
    assert outbox.deliver(backends.queue) == 1
    assert outbox.deliver(backends.queue) == 0
    [entry] = backends.queue.find_by_conversation("ho-3")
    assert entry.packet == waiting.packet
    assert outbox.of_conversation("ho-3")[0].entry_id == entry.entry_id


async def test_with_the_queue_and_the_outbox_down_the_customer_is_asked_to_try_again(
    backends, domain
):
    down = replace(
        backends,
        queue=SqlHandoffQueue(QUEUE_DOWN_URL),
        outbox=HandoffOutbox(QUEUE_DOWN_URL),
    )
    tracker = make_tracker(domain, intent="request_human", text="a person please", sender_id="ho-4")
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(down).run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_failed"]
    assert ConversationPaused() not in events

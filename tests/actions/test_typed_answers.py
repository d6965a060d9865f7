"""Values typed as answers at the form's question: the exact events the actions return."""

from __future__ import annotations

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.account_changes import ValidateAccountChangeForm
from actions.billing import ValidateBillingForm
from actions.csat import ActionSaveCsat
from actions.fallback import ActionFallback
from actions.order_status import ValidateOrderStatusForm
from tests.actions.conftest import make_tracker, slot_events

JANE = {"customer_verified": True, "customer_id": "C1001", "customer_first_name": "Jane"}
LISTED = {"listed_orders": ["482916", "482914", "482913"], "requested_slot": "order_id"}
ASKED_AMOUNT = {"billing_topic": "charge", "requested_slot": "charge_amount"}
CARD = "4111 1111 1111 1111"


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]


async def test_a_bare_amount_is_the_charge_asked_for(backends, domain):
    for text, intent, amount in [
        ("59.90", "nlu_fallback", "59.90"),
        ("it was 120.5", "csat_feedback", "120.50"),
    ]:
        tracker = make_tracker(
            domain, slots=JANE | ASKED_AMOUNT, text=text, intent=intent, active_loop="billing_form"
        )
        dispatcher = CollectingDispatcher()
        events = await ValidateBillingForm(backends).run(dispatcher, tracker, domain)
        assert events == [SlotSet("charge_amount", amount), SlotSet("requested_slot", None)]
        assert dispatcher.messages == []


async def test_the_fallback_lets_the_form_take_a_bare_amount(backends, domain):
    tracker = make_tracker(
        domain,
        slots=JANE | ASKED_AMOUNT,
        text="59.90",
        intent="nlu_fallback",
        active_loop="billing_form",
    )
    dispatcher = CollectingDispatcher()
    assert await ActionFallback(backends).run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == []


async def test_the_fallback_still_asks_to_rephrase_what_is_no_answer(backends, domain):
    for text in ("no idea tbh", CARD):
        tracker = make_tracker(
            domain,
            slots=JANE | ASKED_AMOUNT,
            text=text,
            intent="nlu_fallback",
            active_loop="billing_form",
        )
        dispatcher = CollectingDispatcher()
        assert await ActionFallback(backends).run(dispatcher, tracker, domain) == []
        assert responses(dispatcher) == ["utter_ask_rephrase"]


async def test_an_offered_order_named_by_its_state_or_item(backends, domain):
    for text, order_id in [("the shipped one", "482913"), ("the earbuds", "482914")]:
        tracker = make_tracker(
            domain,
            slots=JANE | LISTED,
            text=text,
            intent="nlu_fallback",
            active_loop="order_status_form",
        )
        dispatcher = CollectingDispatcher()
        assert await ActionFallback(backends).run(dispatcher, tracker, domain) == []
        events = await ValidateOrderStatusForm(backends).run(dispatcher, tracker, domain)
        assert events == [SlotSet("order_id", order_id), SlotSet("requested_slot", None)]
        assert dispatcher.messages == []


async def test_a_card_number_never_fills_the_order(backends, domain):
    tracker = make_tracker(
        domain, slots=JANE | LISTED, text=CARD, intent="inform", active_loop="order_status_form"
    )
    dispatcher = CollectingDispatcher()
    events = await ValidateOrderStatusForm(backends).run(dispatcher, tracker, domain)
    assert events == [SlotSet("requested_slot", "order_id")]
    typed = make_tracker(
        domain,
        slots=JANE | LISTED | {"order_id": CARD},
        events=slot_events(order_id=CARD),
        text=CARD,
        active_loop="order_status_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ValidateOrderStatusForm(backends).run(dispatcher, typed, domain)
    assert events == [SlotSet("order_id", None), SlotSet("requested_slot", "order_id")]
    assert responses(dispatcher) == ["utter_invalid_order_id"]


async def test_an_address_is_stored_without_its_lead_in(backends, domain):
    typed = "new addy: 5 Elm Rd, Austin TX 78701, thanks"
    slots = JANE | {"account_field": "shipping_address", "requested_slot": "account_new_value"}
    tracker = make_tracker(
        domain,
        slots=slots | {"account_new_value": typed},
        text=typed,
        events=slot_events(account_new_value=typed),
        active_loop="account_change_form",
    )
    events = await ValidateAccountChangeForm(backends).run(CollectingDispatcher(), tracker, domain)
    assert events == [
        SlotSet("account_new_value", "5 Elm Rd, Austin TX 78701"),
        SlotSet("requested_slot", "account_change_confirmed"),
    ]


async def test_a_score_and_a_verdict_without_punctuation_are_one_answer(backends, domain):
    pending = {"feedback_id": "csat-typed-test", "intent": "explain_charge", "rated": False}
    tracker = make_tracker(
        domain,
        slots={"csat": pending},
        intent="csat_feedback",
        text="5 great service thanks",
        sender_id="csat-typed",
        # The answer comes right after the rating question (comments are only taken then).
        history=[
            {
                "event": "bot",
                "text": "How would you rate this conversation?",
                "metadata": {"utter_action": "utter_ask_csat"},
            }
        ],
    )
    dispatcher = CollectingDispatcher()
    events = await ActionSaveCsat(backends).run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_csat_thanks"]
    assert events == [SlotSet("csat", pending | {"rated": True})]
    [record] = backends.feedback.for_conversation("csat-typed")
    assert (record.score, record.comment) == (5, "5 great service thanks")

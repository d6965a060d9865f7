"""action_clarify: the options as buttons that keep the original message's entities."""

from __future__ import annotations

from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.clarification import ActionClarify
from tests.actions.conftest import make_tracker

TEXT = "cancel 482914 maybe, or just see where it is"
ORDER = {"entity": "order_id", "value": "482914", "start": 7, "end": 13}


def unclear(options: list[str], entities: list[dict]) -> object:
    return {
        "text": TEXT,
        "intent": {"name": "nlu_clarify", "confidence": 0.52},
        "entities": entities,
        "clarification": {
            "options": [{"intent": o, "confidence": 0.5} for o in options],
            "classified_as": options[0] if options else "greet",
        },
    }


def tracker_for(domain, parse_data):
    tracker = make_tracker(domain, intent="nlu_clarify", text=TEXT, entities=parse_data["entities"])
    tracker.latest_message = parse_data
    return tracker


async def test_the_two_options_and_something_else_keep_the_order_number(domain):
    dispatcher = CollectingDispatcher()
    tracker = tracker_for(domain, unclear(["cancel_order", "check_order_status"], [ORDER]))

    events = await ActionClarify().run(dispatcher, tracker, domain)

    assert events == []
    assert dispatcher.messages == [
        {
            "text": None,
            "buttons": [
                {"title": "Cancel an order", "payload": '/cancel_order{"order_id": "482914"}'},
                {
                    "title": "Check an order's status",
                    "payload": '/check_order_status{"order_id": "482914"}',
                },
                {"title": "Something else", "payload": "/nlu_fallback"},
            ],
            "elements": [],
            "custom": {},
            "template": "utter_clarify",
            "response": "utter_clarify",
            "image": None,
            "attachment": None,
        }
    ]


async def test_an_offer_without_options_is_the_not_understood_path(domain):
    dispatcher = CollectingDispatcher()
    # An intent the policy does not offer (e.g. from an older model) is dropped.
    tracker = tracker_for(domain, unclear(["greet"], []))

    events = await ActionClarify().run(dispatcher, tracker, domain)

    assert events == [FollowupAction("action_fallback")]
    assert dispatcher.messages == []

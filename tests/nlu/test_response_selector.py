"""The ResponseSelector runs only for messages that may be a FAQ or small talk."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from frontline.nlu.response_selector import RetrievalResponseSelector


@pytest.fixture
def selector(tmp_path) -> RetrievalResponseSelector:
    selector = RetrievalResponseSelector.create(
        {**RetrievalResponseSelector.get_default_config(), "consider_top_intents": 2},
        LocalModelStorage(tmp_path),
        Resource("response_selector"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    selector.responses = {
        "utter_faq/shipping_times": [{"text": "3-5 days"}],
        "utter_chitchat/tell_joke": [{"text": "a joke"}],
    }
    return selector


def classified(*ranking: str) -> Message:
    message = Message(data={"text": "whatever"})
    message.set("intent", {"name": ranking[0], "confidence": 0.9})
    message.set("intent_ranking", [{"name": name, "confidence": 0.1} for name in ranking])
    return message


def test_the_retrieval_intents_come_from_the_answers(selector):
    assert selector.retrieval_intents() == {"faq", "chitchat"}


@pytest.mark.parametrize(
    "ranking, runs",
    [
        (("faq", "check_order_status"), True),
        (("check_order_status", "chitchat", "faq"), True),  # unsure: still answered
        (("cancel_order", "stop", "faq"), False),  # beyond the 2 best intents
        (("affirm",), False),
    ],
)
def test_it_runs_when_a_retrieval_intent_is_near_the_top(selector, ranking, runs):
    assert selector.may_be_retrieval(classified(*ranking), {"faq", "chitchat"}) is runs


def test_skipped_messages_are_returned_untouched(selector):
    message = classified("affirm", "deny")
    assert selector.process([message]) == [message]
    assert message.get("response_selector") is None

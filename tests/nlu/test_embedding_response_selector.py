"""FAQ and small-talk answers picked by a logistic regression over the sentence features."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix

from frontline.nlu.response_selector import EmbeddingResponseSelector

ANSWERS = {
    "faq/shipping_times": [1, 0, 0, 0],
    "faq/return_policy": [0, 1, 0, 0],
    "chitchat/tell_joke": [0, 0, 1, 0],
    "chitchat/how_are_you": [0, 0, 0, 1],
}
RESPONSES = {f"utter_{key}": [{"text": f"answer to {key}"}] for key in ANSWERS}


def featurized(vector, intent=None, key=None, ranking=None) -> Message:
    data = {TEXT: "x"}
    if intent:
        data["intent"] = intent
    if key:
        data["intent_response_key"] = key
    message = Message(data=data)
    message.add_features(Features(csr_matrix([[1.0, 0.0]]), "sentence", TEXT, "words"))
    noisy = np.asarray(vector, dtype=np.float32)[None, :]
    message.add_features(Features(noisy, "sentence", TEXT, "encoder"))
    if ranking:
        message.set("intent", {"name": ranking[0], "confidence": 0.6})
        message.set("intent_ranking", [{"name": n, "confidence": 0.1} for n in ranking])
    return message


@pytest.fixture
def trained(tmp_path):
    storage, resource = LocalModelStorage(tmp_path), Resource("selector")
    config = EmbeddingResponseSelector.get_default_config()
    context = ExecutionContext(GraphSchema({}), "selector")
    selector = EmbeddingResponseSelector.create(config, storage, resource, context)
    rng = np.random.default_rng(3)
    examples = [
        featurized(np.array(v) + rng.normal(0, 0.05, 4), key.split("/")[0], key)
        for key, v in ANSWERS.items()
        for _ in range(6)
    ]
    examples.append(featurized([0, 0, 0, 0], "greet"))  # not a retrieval intent: left out
    data = TrainingData(examples, responses=RESPONSES)
    selector.train(data)
    loaded = EmbeddingResponseSelector.load(config, storage, resource, context)
    return selector, loaded


def test_it_answers_in_rasas_format_after_a_reload(trained):
    _, selector = trained
    message = featurized([0.9, 0.1, 0, 0], ranking=["faq", "check_order_status"])
    selector.process([message])
    result = message.get("response_selector")
    assert result["all_retrieval_intents"] == ["chitchat", "faq"]
    response = result["faq"]["response"]
    assert response["intent_response_key"] == "faq/shipping_times"
    assert response["utter_action"] == "utter_faq/shipping_times"
    assert response["responses"] == [{"text": "answer to faq/shipping_times"}]
    ranking = result["faq"]["ranking"]
    assert [r["intent_response_key"] for r in ranking][0] == "faq/shipping_times"
    assert {r["intent_response_key"] for r in ranking} == {
        "faq/shipping_times",
        "faq/return_policy",
    }  # only the answers of the intent asked for
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)


def test_it_answers_each_retrieval_intent_near_the_top(trained):
    selector, _ = trained
    message = featurized([0, 0, 0.8, 0.2], ranking=["check_order_status", "chitchat", "faq"])
    selector.process([message])
    result = message.get("response_selector")
    assert result["chitchat"]["response"]["intent_response_key"] == "chitchat/tell_joke"
    assert result["faq"]["response"]["intent_response_key"].startswith("faq/")


def test_it_skips_messages_no_retrieval_intent_is_near(trained):
    selector, _ = trained
    message = featurized([1, 0, 0, 0], ranking=["cancel_order", "stop", "deny", "faq"])
    selector.process([message])
    assert message.get("response_selector") is None


def test_without_an_intent_it_picks_among_all_answers(trained):
    selector, _ = trained
    message = featurized([0, 0, 0, 1])
    selector.process([message])
    assert (
        message.get("response_selector")["default"]["response"]["intent_response_key"]
        == "chitchat/how_are_you"
    )


def test_a_model_without_retrieval_intents_loads_and_does_nothing(tmp_path):
    storage, resource = LocalModelStorage(tmp_path), Resource("selector")
    config = EmbeddingResponseSelector.get_default_config()
    context = ExecutionContext(GraphSchema({}), "selector")
    selector = EmbeddingResponseSelector.create(config, storage, resource, context)
    selector.train(TrainingData([featurized([1, 0, 0, 0], "greet")]))
    loaded = EmbeddingResponseSelector.load(config, storage, resource, context)
    message = featurized([1, 0, 0, 0], ranking=["faq"])
    assert loaded.process([message]) == [message]
    assert message.get("response_selector") is None

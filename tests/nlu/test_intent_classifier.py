"""The logistic regression classifier uses its C and scales features as configured."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix

from frontline.nlu.intent_classifier import ScaledLogisticRegressionClassifier, sentence_row


def make(cls, tmp_path, **config):
    return cls.create(
        {**cls.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("intent_classifier"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def message(counts: list[float], intent: str | None = None) -> Message:
    data = {"text": "x"} | ({"intent": intent} if intent else {})
    result = Message(data=data)
    result.add_features(Features(csr_matrix([counts]), "sentence", TEXT, "counts"))
    return result


def test_c_reaches_scikit_learn(tmp_path):
    # Rasa's own class keeps C in its config but not in the model.
    assert make(LogisticRegressionClassifier, tmp_path, C=7.0).clf.C == 1.0
    assert make(ScaledLogisticRegressionClassifier, tmp_path, C=7.0).clf.C == 7.0


def test_default_features_are_rasas(tmp_path):
    messages = [message([3, 0, 1]), message([0, 2, 0])]
    ours = make(ScaledLogisticRegressionClassifier, tmp_path)._create_X(messages)
    rasas = make(LogisticRegressionClassifier, tmp_path)._create_X(messages)
    assert np.allclose(ours.toarray(), rasas.toarray())


def test_sublinear_counts_and_unit_length(tmp_path):
    classifier = make(
        ScaledLogisticRegressionClassifier, tmp_path, sublinear_tf=True, normalize=True
    )
    features = classifier._create_X([message([3, 0, 1]), message([0, 2, 0])]).toarray()
    assert np.allclose(np.linalg.norm(features, axis=1), 1.0)
    expected = np.log1p([3.0, 0.0, 1.0])
    assert np.allclose(features[0], expected / np.linalg.norm(expected))
    assert np.allclose(features[1], [0.0, 1.0, 0.0])


@pytest.mark.parametrize("config", [{}, {"normalize": True, "C": 10.0}])
def test_trains_and_ranks_intents(tmp_path, config):
    classifier = make(ScaledLogisticRegressionClassifier, tmp_path, **config)
    examples = [message([5, 0, 0], "greet"), message([0, 4, 1], "goodbye")] * 5
    classifier.train(TrainingData(examples))
    [parsed] = classifier.process([message([4, 0, 0])])
    assert parsed.get("intent")["name"] == "greet"
    assert [r["name"] for r in parsed.get("intent_ranking")] == ["greet", "goodbye"]


def test_predicts_with_column_major_weights_and_the_same_ranking(tmp_path):
    classifier = make(ScaledLogisticRegressionClassifier, tmp_path)
    examples = [
        message([5, 0, 0, 1], "greet"),
        message([0, 4, 1, 0], "goodbye"),
        message([0, 0, 3, 3], "thank"),
    ] * 5
    classifier.train(TrainingData(examples))
    query = [message([2, 1, 0, 1])]
    expected = classifier.clf.predict_proba(classifier._create_X(query))  # row-major coef_

    [parsed] = classifier.process(query)

    assert classifier.clf.coef_.flags.f_contiguous
    confidences = {r["name"]: r["confidence"] for r in parsed.get("intent_ranking")}
    assert [confidences[c] for c in classifier.clf.classes_] == list(expected[0])


@pytest.mark.parametrize("dense", [False, True])
def test_a_sentence_row_is_rasas_combination_of_the_sentence_features(tmp_path, dense):
    rasa = make(LogisticRegressionClassifier, tmp_path)
    rng = np.random.default_rng(7)
    for _ in range(50):
        message = Message(data={"text": "x"})
        if dense:  # a dense featurizer first: Rasa still puts its columns after the sparse
            vector = rng.normal(size=(1, 6)).astype(np.float32)
            message.add_features(Features(vector, "sentence", TEXT, "encoder"))
        for origin in ("regex", "words", "chars"):
            width = int(rng.integers(1, 40))
            sentence = scipy.sparse.random(1, width, density=0.3, random_state=rng).tocoo()
            tokens = scipy.sparse.random(3, width, density=0.3, random_state=rng).tocoo()
            message.add_features(Features(tokens, "sequence", TEXT, origin))
            message.add_features(Features(sentence, "sentence", TEXT, origin))
        # Another attribute's features stay out.
        message.add_features(Features(csr_matrix([[9.0]]), "sentence", "action_name", "x"))
        expected = rasa._create_X([message])
        row = sentence_row(message, TEXT)
        assert row.shape == expected.shape
        assert np.allclose(row.toarray(), expected.toarray())


def test_a_message_with_only_dense_sentence_features_has_them_as_its_row():
    message = Message(data={"text": "x"})
    message.add_features(Features(np.ones((1, 4)), "sentence", TEXT, "dense"))
    assert np.array_equal(sentence_row(message, TEXT).toarray(), np.ones((1, 4)))


def test_a_message_without_sentence_features_has_no_row():
    message = Message(data={"text": "x"})
    message.add_features(Features(csr_matrix([[1.0, 2.0]]), "sequence", TEXT, "words"))
    assert sentence_row(message, TEXT) is None

"""FAQ and small-talk answers: Rasa's ResponseSelector run only when it may matter, or a
logistic regression over the sentence features (``EmbeddingResponseSelector``).

``config.yml``::

    - name: frontline.nlu.response_selector.RetrievalResponseSelector
      consider_top_intents: 3

Rasa runs every pipeline component on every message; the ResponseSelector is a
TensorFlow model, and profiling ``make bench`` found it to be the largest part of the
NLU's time, though its answer is only used when the intent is a retrieval intent
(``faq``, ``chitchat``). Here it runs when one of those is among the classifier's
``consider_top_intents`` best intents (so a FAQ the classifier is unsure about still
gets its answer chosen) and is skipped for the rest ("482913", "yes", "cancel my
order"), whose parse then has no ``response_selector`` entry, as for a model without
retrieval intents. Training, the model and its answers are Rasa's, unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import rasa.shared.utils.io
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_DEFAULT_INTENT,
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.constants import UTTER_PREFIX
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, vstack

from frontline.errors import ConfigurationError
from frontline.nlu.intent_classifier import sentence_row

logger = logging.getLogger(__name__)

CONSIDER_TOP_INTENTS = "consider_top_intents"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class RetrievalResponseSelector(ResponseSelector):
    """A ResponseSelector that skips messages no retrieval intent is near the top for."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**ResponseSelector.get_default_config(), CONSIDER_TOP_INTENTS: 3}

    def retrieval_intents(self) -> set[str]:
        """``faq`` and ``chitchat``: the intents of the answers this selector knows."""
        return {
            key.split("/", 1)[0].removeprefix(UTTER_PREFIX) for key in self.responses if "/" in key
        }

    def may_be_retrieval(self, message: Message, retrieval: set[str]) -> bool:
        """Whether a retrieval intent is among the message's best intents."""
        ranking = message.get(INTENT_RANKING_KEY) or [message.get(INTENT) or {}]
        top = ranking[: max(1, int(self.component_config[CONSIDER_TOP_INTENTS]))]
        return any(entry.get(INTENT_NAME_KEY) in retrieval for entry in top if entry)

    def process(self, messages: list[Message]) -> list[Message]:
        retrieval = self.retrieval_intents()
        super().process([m for m in messages if self.may_be_retrieval(m, retrieval)])
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EmbeddingResponseSelector(GraphComponent):
    """Picks the FAQ or small-talk answer with a logistic regression over the sentence features.

    ``config.yml``, after the intent classifier::

        - name: frontline.nlu.response_selector.EmbeddingResponseSelector
          consider_top_intents: 3

    The replacement of Rasa's ResponseSelector (a TensorFlow model) once the pipeline has
    the sentence encoder: the same features the intent classifier reads (n-grams and the
    encoder's vector, ``intent_classifier.sentence_row``), one scikit-learn logistic
    regression over the answers (``faq/shipping_times``, ``chitchat/tell_joke``...), no
    TensorFlow work per message and no TensorFlow model in memory. Like
    ``RetrievalResponseSelector`` it runs only when a retrieval intent is among the
    classifier's ``consider_top_intents`` best intents, and answers in Rasa's format
    (``response_selector.<intent>.response``), so ``utter_faq`` and ``rasa test nlu`` read
    it unchanged. The choice is restricted to the answers of that retrieval intent.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {CONSIDER_TOP_INTENTS: 3, "C": 1.0, "max_iter": 1000, "random_state": 42}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        classifier: Any = None,
        responses: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self.classifier = classifier
        self.responses = responses or {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmbeddingResponseSelector:
        return cls(config, model_storage, resource)

    @property
    def keys(self) -> list[str]:
        """The answers it knows (``faq/shipping_times``), in the classifier's order."""
        return [] if self.classifier is None else [str(k) for k in self.classifier.classes_]

    def retrieval_intents(self) -> list[str]:
        return sorted({key.split("/", 1)[0] for key in self.keys})

    def train(self, training_data: TrainingData) -> Resource:
        """Fits the classifier on the retrieval intents' examples, labelled with their answer."""
        from sklearn.linear_model import LogisticRegression

        examples = [
            m
            for m in training_data.intent_examples
            if m.get(INTENT_RESPONSE_KEY) and m.get(TEXT) and m.features
        ]
        labels = {m.get(INTENT_RESPONSE_KEY) for m in examples}
        if len(labels) < 2:
            logger.debug("EmbeddingResponseSelector: fewer than two answers, nothing to train")
            return self._resource
        self.classifier = LogisticRegression(
            C=float(self.config["C"]),
            max_iter=int(self.config["max_iter"]),
            random_state=self.config["random_state"],
            class_weight="balanced",
        )
        self.classifier.fit(_rows(examples), [m.get(INTENT_RESPONSE_KEY) for m in examples])
        self.responses = {
            key: value
            for key, value in training_data.responses.items()
            if intent_response_key_to_template_key_or_none(key) is not None
        }
        self.persist()
        return self._resource

    def persist(self) -> None:
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as folder:
            sio.dump(self.classifier, folder / "response_selector.skops")
            rasa.shared.utils.io.dump_obj_as_json_to_file(folder / "responses.json", self.responses)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EmbeddingResponseSelector:
        """Loads the classifier (scikit-learn types only, as Rasa's own classifier does)."""
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as folder:
                path = folder / "response_selector.skops"
                untrusted = [
                    t
                    for t in sio.get_untrusted_types(file=path)
                    if not t.startswith(("sklearn.", "numpy."))
                ]
                if untrusted:
                    raise ConfigurationError(
                        f"response selector file {path} holds unexpected types: {untrusted}"
                    )
                classifier = sio.load(path, trusted=sio.get_untrusted_types(file=path))
                responses = rasa.shared.utils.io.read_json_file(folder / "responses.json")
        except ValueError:
            logger.debug("EmbeddingResponseSelector: nothing trained (no retrieval intents)")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, classifier, responses)

    def process(self, messages: list[Message]) -> list[Message]:
        if self.classifier is None:
            return messages
        retrieval = set(self.retrieval_intents())
        for message in messages:
            wanted = self._selectors_for(message, retrieval)
            if not wanted or sentence_row(message, TEXT) is None:
                continue
            probabilities = self.classifier.predict_proba(_rows([message]))[0]
            for selector in wanted:
                self._answer(message, selector, probabilities)
        return messages

    def _selectors_for(self, message: Message, retrieval: set[str]) -> list[str]:
        """The retrieval intents near the top of the ranking (no ranking: ``default``)."""
        ranking = message.get(INTENT_RANKING_KEY) or (
            [message.get(INTENT)] if message.get(INTENT) else []
        )
        if not ranking:
            return [RESPONSE_SELECTOR_DEFAULT_INTENT]
        top = [e.get(INTENT_NAME_KEY) for e in ranking if e and e.get(INTENT_NAME_KEY)]
        top = [n for n in top if n not in ("nlu_fallback", "nlu_clarify")]
        top = top[: max(1, int(self.config[CONSIDER_TOP_INTENTS]))]
        return [name for name in top if name in retrieval]

    def _answer(self, message: Message, selector: str, probabilities: np.ndarray) -> None:
        keys = self.keys
        allowed = [
            i
            for i, key in enumerate(keys)
            if selector == RESPONSE_SELECTOR_DEFAULT_INTENT or key.startswith(f"{selector}/")
        ]
        total = float(sum(probabilities[i] for i in allowed)) or 1.0
        scored = sorted(
            ((float(probabilities[i]) / total, keys[i]) for i in allowed), key=lambda s: -s[0]
        )
        ranking = [
            {INTENT_RESPONSE_KEY: key, "confidence": confidence} for confidence, key in scored
        ]
        best = ranking[0]
        template = f"{UTTER_PREFIX}{best[INTENT_RESPONSE_KEY]}"
        properties = message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}
        properties[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = self.retrieval_intents()
        properties[selector] = {
            RESPONSE_SELECTOR_PREDICTION_KEY: {
                RESPONSE_SELECTOR_RESPONSES_KEY: self.responses.get(template)
                or [{TEXT: best[INTENT_RESPONSE_KEY]}],
                "confidence": best["confidence"],
                INTENT_RESPONSE_KEY: best[INTENT_RESPONSE_KEY],
                RESPONSE_SELECTOR_UTTER_ACTION_KEY: template,
            },
            RESPONSE_SELECTOR_RANKING_KEY: ranking,
        }
        message.set(RESPONSE_SELECTOR_PROPERTY_NAME, properties, add_to_output=True)


def intent_response_key_to_template_key_or_none(key: str) -> str | None:
    """``utter_faq/x`` answers are kept (the ones a retrieval intent can pick)."""
    return key if key.startswith(UTTER_PREFIX) and "/" in key else None


def _rows(messages: list[Message]) -> csr_matrix:
    return vstack([sentence_row(m, TEXT) for m in messages], format="csr")

"""Rasa's ResponseSelector, run only for messages that may be a FAQ or small talk.

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

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.constants import UTTER_PREFIX
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

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

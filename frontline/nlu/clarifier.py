"""Marks unclear messages ``nlu_clarify``: the assistant asks "Did you mean …?".

``config.yml``, right after the FallbackClassifier (which keeps catching messages below
its ``threshold``)::

    - name: frontline.nlu.clarifier.ClarificationClassifier
      clarify_threshold: 0.9   # below this, ask (values from `make tune-thresholds`)
      ambiguity_margin: 0.1    # or when the runner-up is this close

For a message the FallbackClassifier let through, :meth:`ClarificationPolicy.decide`
(``frontline/nlu/clarification_policy.py``) says whether to ask. When it does, the
message's intent becomes ``nlu_clarify`` (as the FallbackClassifier does with
``nlu_fallback``: the classifier's ranking stays below it), and the parse gains a
``clarification`` entry with the business intents to offer, best first; the rule
``nlu_clarify -> action_clarify`` turns them into buttons. Which intents may be offered
comes from ``policies/clarification.yml`` (``FRONTLINE_POLICIES_DIR``), read when the model
loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

from frontline.nlu.clarification_policy import (
    CLARIFY_INTENT,
    FALLBACK_INTENT,
    ClarificationPolicy,
    Decision,
    Thresholds,
    load_clarification_policy,
)

CLARIFICATION_KEY = "clarification"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ClarificationClassifier(GraphComponent, IntentClassifier):
    """Turns a message in the clarify band, or a close call, into ``nlu_clarify``."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "clarify_threshold": 0.0,  # 0 and 0: never ask (the component is inert)
            "ambiguity_margin": 0.0,
            "policies_dir": None,  # default: FRONTLINE_POLICIES_DIR, else policies/
        }

    def __init__(self, config: dict[str, Any], policy: ClarificationPolicy) -> None:
        self.thresholds = Thresholds(
            threshold=0.0,  # the FallbackClassifier's job, before this component
            clarify_threshold=float(config["clarify_threshold"]),
            ambiguity_margin=float(config["ambiguity_margin"]),
        )
        self.policy = policy

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ClarificationClassifier:
        """Reads the policy (at training and at loading: a broken file stops both)."""
        folder = config.get("policies_dir")
        return cls(config, load_clarification_policy(Path(folder) if folder else None))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._clarify_if_unclear(message)
        return messages

    def _clarify_if_unclear(self, message: Message) -> None:
        intent = message.get(INTENT) or {}
        if not intent.get(INTENT_NAME_KEY) or intent[INTENT_NAME_KEY] == FALLBACK_INTENT:
            return
        ranking_entries = message.get(INTENT_RANKING_KEY) or [intent]
        ranking = [
            (entry[INTENT_NAME_KEY], float(entry[PREDICTED_CONFIDENCE_KEY]))
            for entry in ranking_entries
        ]
        decision, options = self.policy.decide(ranking, self.thresholds)
        if decision is not Decision.CLARIFY:
            return
        confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        clarify = {INTENT_NAME_KEY: CLARIFY_INTENT, PREDICTED_CONFIDENCE_KEY: confidence}
        message.set(INTENT, clarify, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [clarify, *ranking_entries], add_to_output=True)
        confidences = dict(ranking)
        message.set(
            CLARIFICATION_KEY,
            {
                "options": [{"intent": o, "confidence": confidences[o]} for o in options],
                "classified_as": intent[INTENT_NAME_KEY],
            },
            add_to_output=True,
        )

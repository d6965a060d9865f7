"""The Rasa dialogue policy that applies the escalation rules of ``policies/`` on each message.

``config.yml``::

    policies:
      - name: frontline.dialogue.escalation_policy.EscalationDialoguePolicy
        priority: 7     # above RulePolicy (6): wins a tie at confidence 1.0

On each new customer message it assesses the conversation
(:func:`frontline.dialogue.signals.assess`): a sensitive topic, an intent outside the
assistant's scope on this channel, or a frustration score over the threshold predicts
``action_handoff`` with confidence 1.0. If (and only if) that prediction wins, the
slots ``handoff_reason`` (``policy``) and ``escalation_rule`` (rule id, rationale,
policy version) are set first, so the handoff packet names the rule; the assessment
goes into the action's metadata, so the audit trail records the score.

Safety rules must win over a form that is running: Rasa lets "no user" predictions
(a form continuing its happy path) overrule every other prediction, so this policy's
predictions are marked as such too, and win by priority.

Nothing is learned: the rules are read from the policy files when the model is
loaded, so changing a policy file changes behaviour without retraining, and a broken
policy file stops the Rasa server from loading the model. The rules themselves are
:class:`frontline.policy.escalation.EscalationRules`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction, confidence_scores_for
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from frontline.dialogue.signals import assess, recent_user_turns
from frontline.policy.registry import Policies, policies
from frontline.vocabulary import Slot

logger = logging.getLogger(__name__)

HANDOFF_ACTION = "action_handoff"
REASON_SLOT = Slot.HANDOFF_REASON
RULE_SLOT = "escalation_rule"
REASON_CODE = "policy"
TIER_SLOT = "customer_tier"
#: Key of the assessment in the metadata of the action this policy predicts.
METADATA_KEY = "frontline_escalation"
DEFAULT_PRIORITY = 7
#: This policy's name before the rules (``frontline.policy.escalation.EscalationRules``)
#: and the policy applying them got names that cannot be confused; conversations
#: recorded then still name it so.
FORMER_NAMES = ("EscalationRulesPolicy",)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class EscalationDialoguePolicy(Policy):
    """Hands the conversation off when an escalation rule of ``policies/`` fires."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Priority above RulePolicy's, so a tie at confidence 1.0 goes to this policy."""
        return {"priority": DEFAULT_PRIORITY}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
        rules: Policies | None = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        # Loaded (and validated) now: a broken policy file stops the model from loading.
        self._rules = rules or policies()
        logger.info("Escalation rules loaded: %s", self._rules.versions)

    def train(
        self,
        training_trackers: list[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        """Nothing to learn: the rules come from the policy files at load time."""
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EscalationDialoguePolicy:
        """Builds the policy; nothing was persisted at training time."""
        return cls(config, model_storage, resource, execution_context)

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Predicts ``action_handoff`` when an escalation rule fires on a new message."""
        if self._handed_off_just_now(tracker):
            # Our handoff ran but did not pause the conversation (the queue failed):
            # wait for the customer rather than letting another policy guess.
            return self._prediction(
                confidence_scores_for(ACTION_LISTEN_NAME, 1.0, domain), is_no_user_prediction=True
            )
        if not self._new_user_message(tracker):
            return self._prediction(self._default_predictions(domain))
        assessment = assess(
            recent_user_turns(
                _user_events_newest_first(tracker), self._rules.escalation.frustration.window
            ),
            channel=tracker.get_latest_input_channel(),
            tier=_text_slot(tracker, TIER_SLOT),
            policies=self._rules,
        )
        if assessment.rule is None:
            return self._prediction(self._default_predictions(domain))
        logger.info(
            "Escalation rule %s fired in conversation %s",
            assessment.rule.rule_id,
            tracker.sender_id,
        )
        return self._prediction(
            confidence_scores_for(HANDOFF_ACTION, 1.0, domain),
            optional_events=[
                SlotSet(REASON_SLOT, REASON_CODE),
                SlotSet(RULE_SLOT, assessment.rule.as_slot()),
            ],
            is_no_user_prediction=True,
            action_metadata={METADATA_KEY: assessment.metadata()},
        )

    @staticmethod
    def _new_user_message(tracker: DialogueStateTracker) -> bool:
        """Whether the customer wrote and no action has run since."""
        for event in reversed(tracker.events):
            if isinstance(event, UserUttered):
                return True
            if isinstance(event, ActionExecuted):
                return False
        return False

    def _handed_off_just_now(self, tracker: DialogueStateTracker) -> bool:
        for event in reversed(tracker.events):
            if isinstance(event, ActionExecuted):
                return (
                    event.action_name == HANDOFF_ACTION
                    and event.policy in (self.__class__.__name__, *FORMER_NAMES)
                    and not tracker.is_paused()
                )
            if isinstance(event, UserUttered):
                return False
        return False


def _user_events_newest_first(tracker: DialogueStateTracker) -> Iterator[dict[str, Any]]:
    """The customer's messages and session starts, newest first, as event dictionaries."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            yield {"event": "user", "text": event.text, "parse_data": {"intent": event.intent}}
        elif isinstance(event, (Restarted, SessionStarted)):
            yield {"event": event.type_name}


def _text_slot(tracker: DialogueStateTracker, name: str) -> str | None:
    if name not in tracker.slots:
        return None
    value = tracker.get_slot(name)
    return str(value) if value else None

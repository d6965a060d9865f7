"""A Rasa dialogue policy that applies feature flags and the kill switch to new messages.

``config.yml``::

    policies:
      - name: frontline.dialogue.control_policy.FlagControlPolicy
        priority: 8     # above the escalation rules (7) and RulePolicy (6)

On each new customer message it evaluates, with one view of the flags
(:mod:`frontline.flags`, through OpenFeature):

* the kill switch: in ``messages`` mode every new message goes to a person
  (reason ``kill_switch``);
* the contact type of the message's intent (or, inside a form, of the intent that
  started it), and the writes that contact's flow makes: a flag off for this customer,
  or the kill switch in ``writes`` mode, sends the conversation to a person before any
  question is asked (reason ``capability_off`` or ``kill_switch``). The write path checks
  the write flags again right before the write, with the customer's tier.

Then it predicts ``action_handoff`` with confidence 1.0, the slots ``handoff_reason`` and
``escalation_rule`` (rule id, rationale, the response the customer is sent first) set if
(and only if) that prediction wins, and the evaluations in the action's metadata, so the
decision record in the audit trail carries them (flag, variant, reason, rule, targeting key
hashed). When every flag is on it predicts nothing and nothing is recorded.

A message that names a sensitive topic (legal threat, fraud, self-harm...) is left to the
escalation rules policy, which hands it off with its own rule, priority and words.

Cost: one read of the flags' change counter per new message (a primary-key read, or one
Redis GET), and a reload of the overrides only after a change.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction, confidence_scores_for
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Restarted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from frontline.flags.capabilities import METADATA_KEY, Evaluation, FlagCapabilityProvider
from frontline.flags.evaluation import FlagContext
from frontline.policy.escalation import EscalationRules, escalation_rules
from frontline.vocabulary import Slot

logger = logging.getLogger(__name__)

HANDOFF_ACTION = "action_handoff"
REASON_SLOT = Slot.HANDOFF_REASON
RULE_SLOT = "escalation_rule"
VERIFIED_SLOT = "customer_verified"
CUSTOMER_SLOT = "customer_id"
TIER_SLOT = "customer_tier"
DEFAULT_PRIORITY = 8
#: How many of the customer's messages are searched for the intent that started a form.
_CONTACT_LOOKBACK = 20


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class FlagControlPolicy(Policy):
    """Hands a new message to a person when a flag or the kill switch says so."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Priority above every other policy's: a tie at confidence 1.0 goes to this one."""
        return {"priority": DEFAULT_PRIORITY}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
        capabilities: FlagCapabilityProvider | None = None,
        escalation: EscalationRules | None = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        # Loaded (and validated) now: a broken flags file stops the model from loading.
        # Nothing connects until the first message.
        self._capabilities = capabilities or FlagCapabilityProvider()
        self._escalation = escalation or escalation_rules()
        policy = self._capabilities.policy
        self._flagged_intents = frozenset(policy.by_intent) | frozenset(
            self._capabilities.write_intents
        )
        logger.info("Feature flags loaded: flags %s", policy.version)

    def train(
        self,
        training_trackers: list[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        """Nothing to learn: flags are read at run time."""
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FlagControlPolicy:
        """Builds the policy; nothing was persisted at training time."""
        return cls(config, model_storage, resource, execution_context)

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Predicts ``action_handoff`` when a flag is off for this new message."""
        if self._handed_off_just_now(tracker):
            # Our handoff ran but did not pause the conversation (the queue failed):
            # wait for the customer rather than letting another policy guess.
            return self._prediction(
                confidence_scores_for(ACTION_LISTEN_NAME, 1.0, domain), is_no_user_prediction=True
            )
        message = _new_user_message(tracker)
        if message is None:
            return self._prediction(self._default_predictions(domain))
        evaluations = self.evaluate(tracker, message)
        refused = next((e for e in evaluations if not e.enabled), None)
        if refused is None or self._sensitive(message.text):
            return self._prediction(self._default_predictions(domain))
        rule = refused.escalation_rule()
        logger.info(
            "Flag %s (%s) sent conversation %s to a person",
            refused.flag_key,
            refused.rule or refused.reason,
            tracker.sender_id,
        )
        return self._prediction(
            confidence_scores_for(HANDOFF_ACTION, 1.0, domain),
            optional_events=[
                SlotSet(REASON_SLOT, refused.handoff_reason),
                SlotSet(RULE_SLOT, rule.as_slot() if rule else None),
            ],
            is_no_user_prediction=True,
            action_metadata={METADATA_KEY: [e.as_record() for e in evaluations]},
        )

    def evaluate(self, tracker: DialogueStateTracker, message: UserUttered) -> list[Evaluation]:
        """The kill switch and the flags of the message's contact, from one view."""
        context = _flag_context(tracker)
        intent = self._contact_intent(tracker, message)
        capabilities = self._capabilities
        with capabilities.consistent_view():
            evaluations = [capabilities.kill_switch(context)]
            if intent is not None:
                evaluations += capabilities.for_intent(intent, context)
        return evaluations

    def _contact_intent(self, tracker: DialogueStateTracker, message: UserUttered) -> str | None:
        """The message's intent if a flag covers it; inside a form, the intent that
        started the form's contact (the latest covered one in this session)."""
        intent = (message.intent or {}).get("name")
        if intent in self._flagged_intents:
            return str(intent)
        if not tracker.active_loop_name:
            return None
        seen = 0
        for event in reversed(tracker.events):
            if isinstance(event, (Restarted, SessionStarted)):
                return None
            if isinstance(event, UserUttered):
                seen += 1
                name = (event.intent or {}).get("name")
                if name in self._flagged_intents:
                    return str(name)
                if seen >= _CONTACT_LOOKBACK:
                    return None
        return None

    def _sensitive(self, text: str | None) -> bool:
        return any(topic.matches(text or "") for topic in self._escalation.sensitive_topics)

    def _handed_off_just_now(self, tracker: DialogueStateTracker) -> bool:
        for event in reversed(tracker.events):
            if isinstance(event, ActionExecuted):
                return (
                    event.action_name == HANDOFF_ACTION
                    and event.policy == self.__class__.__name__
                    and not tracker.is_paused()
                )
            if isinstance(event, UserUttered):
                return False
        return False


def _new_user_message(tracker: DialogueStateTracker) -> UserUttered | None:
    """The customer's message if no action has run since it arrived."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return event
        if isinstance(event, ActionExecuted):
            return None
    return None


def _slot_text(tracker: DialogueStateTracker, name: str) -> str | None:
    if name not in tracker.slots:
        return None
    value = tracker.get_slot(name)
    return str(value) if value else None


def _flag_context(tracker: DialogueStateTracker) -> FlagContext:
    """Who the flags are evaluated for: the verified customer, else the conversation."""
    verified = bool(VERIFIED_SLOT in tracker.slots and tracker.get_slot(VERIFIED_SLOT))
    return FlagContext(
        conversation_id=tracker.sender_id,
        customer_id=_slot_text(tracker, CUSTOMER_SLOT) if verified else None,
        channel=tracker.get_latest_input_channel(),
        tier=_slot_text(tracker, TIER_SLOT) if verified else None,
    )

"""Folds a conversation's Rasa events into the state of its contacts.

:class:`OutcomeFolder` is pure: events and the previous state in, states out, no I/O
(the customer's pseudonymous key, tier and message sentiment come from functions it is
given). The writer (:mod:`frontline.outcomes.processor`) calls it in the background,
never on a turn's path. What each event means:

* ``session_started`` / ``restart``: the contact ends, the next one begins;
* ``user``: a turn (channel, model id, intent and confidence, sentiment); the first
  request intent is the interaction type; after a resolution, a follow-up (a request
  for a person or the same request again reopens it);
* ``bot``: the first response; the assistant's handle time; a clarifying question, an
  answer in full (FAQ), a backend failure told to the customer; a person's reply
  (``metadata.frontline_agent``) or the hand-back message (``utter_handed_back``);
* ``action`` and ``active_loop``: fallbacks; forms started and completed (a form that
  deactivates itself without a handoff reason completed; one ended by
  ``action_deactivate_loop`` or a handoff did not);
* ``slot``: the verified customer (``customer_id``, ``customer_tier``), the handoff's
  reason and rule, the ``action_log`` (backend calls and failures), the ``csat``
  question (asked after a resolved contact: the resolution signal) and its answer;
* ``pause`` / ``resume``: handed to a person, given back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from frontline.json_fields import object_at
from frontline.outcomes.model import CONFIDENCE_BINS
from frontline.outcomes.policy import OutcomePolicy
from frontline.outcomes.state import MAX_LOG_KEYS, MAX_SCORES, ContactState
from frontline.vocabulary import Slot

FALLBACK_INTENT = "nlu_fallback"
HANDOFF_ACTION = "action_handoff"
HANDBACK_RESPONSE = "utter_handed_back"
AGENT_KEY = "frontline_agent"
CSAT_SLOT = "csat"
LOG_SLOT = "action_log"
REASON_SLOT = Slot.HANDOFF_REASON
RULE_SLOT = "escalation_rule"
CUSTOMER_SLOT = "customer_id"
TIER_SLOT = "customer_tier"
HANDOFF_LOG_ACTION = "handoff"
_NEW_CONTACT_EVENTS = frozenset({"session_started", "restart"})


def _timestamp(event: Mapping[str, Any], default: float) -> float:
    value = event.get("timestamp")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return default


def _template(event: Mapping[str, Any]) -> str | None:
    metadata = object_at(event, "metadata")
    name = metadata.get("utter_action") or metadata.get("template_name")
    return str(name) if name else None


class OutcomeFolder:
    """Turns one conversation's events into the states of its contacts.

    Args:
        policy: The outcome definitions.
        pseudonymize: Keyed hash of a customer reference (``customer:C1001`` or
            ``sender:slack:U123``): the only form of the customer the state keeps.
        tier_of: A verified customer's tier (None when unknown); called once per
            contact, with the raw customer id, which is never stored.
        sentiment: Frustration score (0..1) of a message's text and intent.
        policy_version: The policy versions in force, as one label.
    """

    def __init__(
        self,
        policy: OutcomePolicy,
        *,
        pseudonymize: Callable[[str], str],
        tier_of: Callable[[str], str | None] = lambda _customer_id: None,
        sentiment: Callable[[str, str | None], float] | None = None,
        policy_version: str | None = None,
    ) -> None:
        self.policy = policy
        self.pseudonymize = pseudonymize
        self.tier_of = tier_of
        self.sentiment = sentiment
        self.policy_version = policy_version
        self._non_request = policy.names("non_request_intents")
        self._reopening = policy.names("reopening_intents")
        self._clarifying = policy.names("clarifying_responses")
        self._fallback_actions = policy.names("fallback_actions")
        self._failure_results = policy.names("backend_failure_results")
        self._not_backend = policy.names("not_backend_actions")
        self._failure_responses = policy.names("backend_failure_responses")

    def fold(
        self,
        conversation_id: str,
        events: Iterable[Mapping[str, Any]],
        state: ContactState | None = None,
    ) -> list[ContactState]:
        """Folds ``events`` (oldest first) onto the conversation's latest contact.

        Returns:
            Every contact the events touched, oldest first: the given one (ended, if a
            new session began) and any that began.
        """
        touched: list[ContactState] = [state] if state is not None else []
        current = state
        for event in events:
            if not isinstance(event, Mapping):
                continue
            kind = event.get("event")
            at = _timestamp(event, (current.last_event_at or 0.0) if current else 0.0)
            if kind in _NEW_CONTACT_EVENTS or current is None or current.session_ended:
                if current is not None and kind in _NEW_CONTACT_EVENTS:
                    if current.turns == 0 and current.escalated_at is None:
                        # Nothing happened yet (action_session_start precedes the event):
                        # this is the same contact's start.
                        current.started_at = min(current.started_at, at)
                        continue
                    current.session_ended = True
                if current is None or current.session_ended:
                    current = ContactState.new(conversation_id, at)
                    current.policy_version = self.policy_version
                    touched.append(current)
                if kind in _NEW_CONTACT_EVENTS:
                    current.last_event_at = at
                    continue
            current.last_event_at = max(current.last_event_at or at, at)
            handler = getattr(self, f"_on_{kind}", None)
            if handler is not None:
                handler(current, event, at)
        return touched

    # -- events ----------------------------------------------------------------------

    def _on_user(self, state: ContactState, event: Mapping[str, Any], at: float) -> None:
        parse = object_at(event, "parse_data")
        intent_data = object_at(parse, "intent")
        intent = intent_data.get("name")
        intent = str(intent) if intent else None
        state.turns += 1
        state.first_customer_at = min(state.first_customer_at or at, at)
        state.last_customer_at = max(state.last_customer_at or at, at)
        channel = event.get("input_channel")
        if channel and not state.channel:
            state.channel = str(channel)
            if not state.customer_key:
                state.customer_key = self.pseudonymize(f"sender:{channel}:{state.conversation_id}")
        metadata = object_at(event, "metadata")
        if metadata.get("model_id"):
            state.model_id = str(metadata["model_id"])
        if not state.paused and state.segment_start is None:
            state.segment_start = at
        self._confidence(state, intent_data.get("confidence"), intent)
        if self.sentiment is not None:
            text = str(event.get("text") or "")
            score = self.sentiment("" if text.startswith("/") else text, intent)
            state.sentiment = (state.sentiment + [round(score, 4)])[-MAX_SCORES:]
        is_request = intent is not None and intent not in self._non_request
        if intent == FALLBACK_INTENT or is_request:
            state.engaged = True
        if is_request and intent != FALLBACK_INTENT and state.interaction_type is None:
            state.interaction_type = intent
        if state.resolved_at is not None and not state.paused and is_request:
            state.follow_ups_after_resolution += 1
            if intent in self._reopening or intent in (
                state.resolved_intent,
                state.interaction_type,
            ):
                state.reopened = True

    def _confidence(self, state: ContactState, value: Any, intent: str | None) -> None:
        if intent is None or not isinstance(value, (int, float)) or isinstance(value, bool):
            return
        confidence = min(max(float(value), 0.0), 1.0)
        state.confidence_count += 1
        state.confidence_sum += confidence
        state.confidence_min = min(
            state.confidence_min if state.confidence_min is not None else 1.0, confidence
        )
        state.confidence_hist[min(int(confidence * CONFIDENCE_BINS), CONFIDENCE_BINS - 1)] += 1

    def _on_bot(self, state: ContactState, event: Mapping[str, Any], at: float) -> None:
        metadata = object_at(event, "metadata")
        if (
            state.first_response_at is None
            and state.first_customer_at is not None
            and at >= state.first_customer_at
        ):
            state.first_response_at = at
        if metadata.get(AGENT_KEY):
            state.human_needs_lookup = True
            if metadata.get("handoff_entry"):
                state.handoff_entry_id = str(metadata["handoff_entry"])
            return
        template = _template(event)
        if template == HANDBACK_RESPONSE:
            state.handed_back = True
            state.human_needs_lookup = True
            return
        state.last_assistant_at = at
        if template in self._clarifying:
            state.clarifying_questions += 1
        if template in self._failure_responses:
            state.failure_responses += 1
        if self.policy.is_answer(template) and not state.paused:
            self._resolved(state, at, "answer", state.interaction_type)

    def _on_action(self, state: ContactState, event: Mapping[str, Any], at: float) -> None:
        name = str(event.get("name") or "")
        if name in self._fallback_actions:
            state.fallbacks += 1
        state.last_action = name

    def _on_active_loop(self, state: ContactState, event: Mapping[str, Any], at: float) -> None:
        name = event.get("name")
        if name:
            if name != state.active_loop:
                state.actions_started += 1
            state.active_loop = str(name)
            return
        if (
            state.active_loop
            and state.last_action == state.active_loop
            and not state.pending_reason
        ):
            # The form ended itself with all it asked for, not to hand off (a backend
            # that did not answer ends it too, with a handoff reason).
            state.actions_completed += 1
        state.active_loop = None

    def _on_slot(self, state: ContactState, event: Mapping[str, Any], at: float) -> None:
        name, value = event.get("name"), event.get("value")
        if name == CUSTOMER_SLOT and value:
            key = self.pseudonymize(f"customer:{value}")
            if key != state.customer_key or not state.customer_verified:
                state.customer_key = key
                state.customer_verified = True
                state.tier = state.tier or self.tier_of(str(value))
        elif name == TIER_SLOT and value:
            state.tier = str(value)
        elif name == REASON_SLOT and value:
            state.pending_reason = str(value)
        elif name == RULE_SLOT and isinstance(value, Mapping) and value.get("id"):
            state.pending_rule = str(value["id"])
        elif name == LOG_SLOT and isinstance(value, list):
            self._action_log(state, value)
        elif name == CSAT_SLOT and isinstance(value, Mapping) and value.get("feedback_id"):
            self._csat(state, value, at)

    def _action_log(self, state: ContactState, entries: list[Any]) -> None:
        seen = set(state.log_keys)
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            key = "\x1f".join(str(entry.get(k)) for k in ("action", "result", "detail", "at"))
            if key in seen:
                continue
            seen.add(key)
            state.log_keys = (state.log_keys + [key])[-MAX_LOG_KEYS:]
            action, result = entry.get("action"), entry.get("result")
            if action == HANDOFF_LOG_ACTION:
                # "<reason>, <priority>, <reference>" (actions/handoff.py): the reason when
                # no slot named it; the queue's packet has the last word.
                if result == "queued" and not state.pending_reason and entry.get("detail"):
                    state.pending_reason = str(entry["detail"]).split(",", 1)[0].strip()
                continue
            if action in self._not_backend:
                continue
            state.calls_logged += 1
            if result in self._failure_results:
                state.failures_logged += 1

    def _csat(self, state: ContactState, value: Mapping[str, Any], at: float) -> None:
        feedback_id = str(value["feedback_id"])
        if feedback_id != state.csat_feedback_id:
            state.csat_feedback_id = feedback_id
            state.csat_asked = True
            if not state.paused:
                # Asked only after a contact the assistant resolved (frontline/services/csat.py).
                intent = value.get("intent")
                self._resolved(state, at, "task", str(intent) if intent else None)
        if value.get("rated") or state.last_action == "action_save_csat":
            state.csat_needs_lookup = True

    def _resolved(self, state: ContactState, at: float, kind: str, intent: str | None) -> None:
        if state.resumed_at is not None and at >= state.resumed_at:
            state.resolved_after_resume = True
        if state.resolved_at is None:
            state.resolved_at = at
            state.resolution_kind = kind
            state.resolved_intent = intent
            state.clarified_before_resolution = state.clarifying_questions > 0
        if state.interaction_type is None and intent:
            state.interaction_type = intent

    def _on_pause(self, state: ContactState, event: Mapping[str, Any], at: float) -> None:
        if state.paused:
            return
        state.paused = True
        state.handoffs += 1
        if state.escalated_at is None:
            state.escalated_at = at
        if state.resolved_at is not None:
            state.reopened = True  # resolved, then the customer needed a person after all
        state.escalation_reason = state.pending_reason or state.escalation_reason
        state.escalation_rule = state.pending_rule or state.escalation_rule
        state.pending_reason = state.pending_rule = None
        if state.segment_start is not None and state.last_assistant_at is not None:
            state.assistant_seconds += max(state.last_assistant_at - state.segment_start, 0.0)
        state.segment_start = None
        state.human_needs_lookup = True

    def _on_resume(self, state: ContactState, event: Mapping[str, Any], at: float) -> None:
        if not state.paused:
            return
        state.paused = False
        state.resumed_at = at
        state.human_needs_lookup = True

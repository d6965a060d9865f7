"""Decision records: the rationale of every action the assistant took.

Rasa's tracker events already hold everything needed; this module reads them and
writes one record per bot action (``action_listen`` aside):

* the customer's intent with its confidence and the runner-up (``parse_data``),
* the thresholds applied (``config.yml``'s FallbackClassifier and RulePolicy, and the
  escalation policy's frustration threshold),
* the dialogue policy that chose the action and its confidence (action events carry
  ``policy`` and ``confidence``),
* any policy-as-code rule that fired (the ``escalation_rule`` and ``handoff_reason``
  slots; the escalation policy's assessment in the action's metadata),
* each backend call the action made, with its result and idempotency key (new
  ``action_log`` entries),
* the policy versions and the model id (event metadata ``model_id``).

:class:`DecisionBuilder` works incrementally on a stream of events (the audit event
broker) and :func:`decisions_from_events` on a whole tracker (the handoff packet).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from frontline.masking import apply_treatment
from frontline.settings import PROJECT_ROOT
from frontline.vocabulary import Slot

if TYPE_CHECKING:
    from frontline.policy import DataHandlingPolicy, FieldHandling

logger = logging.getLogger(__name__)

ACTION_LISTEN = "action_listen"
RULE_SLOT = "escalation_rule"
REASON_SLOT = Slot.HANDOFF_REASON
LOG_SLOT = "action_log"
ESCALATION_METADATA_KEY = "frontline_escalation"
#: The feature-flag evaluations that decided an action (frontline/dialogue/control_policy.py).
FLAGS_METADATA_KEY = "frontline_flags"
#: Rasa's defaults when config.yml does not set them.
RASA_DEFAULT_THRESHOLDS = {
    "nlu_fallback_threshold": 0.3,
    "ambiguity_threshold": 0.1,
    "core_fallback_threshold": 0.3,
}
#: Events that end what an action did (the next decision starts).
_BOUNDARY_EVENTS = frozenset({"user", "action", "restart", "session_started"})


def rasa_thresholds(config_path: Path | None = None) -> dict[str, float]:
    """The confidence thresholds ``config.yml`` sets for NLU and dialogue fallbacks."""
    path = config_path or PROJECT_ROOT / "config.yml"
    thresholds = dict(RASA_DEFAULT_THRESHOLDS)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        logger.warning("Cannot read thresholds from %s: %s", path, exc)
        return thresholds
    for component in config.get("pipeline") or []:
        if isinstance(component, Mapping) and component.get("name") == "FallbackClassifier":
            thresholds["nlu_fallback_threshold"] = float(component.get("threshold", 0.3))
            thresholds["ambiguity_threshold"] = float(component.get("ambiguity_threshold", 0.1))
        # The "Did you mean …?" band (frontline/nlu/clarifier.py), when the pipeline has one.
        name = str(component.get("name", "")) if isinstance(component, Mapping) else ""
        if name.endswith(".ClarificationClassifier"):
            thresholds["clarify_threshold"] = float(component.get("clarify_threshold", 0.0))
            thresholds["clarify_ambiguity_margin"] = float(component.get("ambiguity_margin", 0.0))
    for policy in config.get("policies") or []:
        if isinstance(policy, Mapping) and policy.get("name") == "RulePolicy":
            thresholds["core_fallback_threshold"] = float(
                policy.get("core_fallback_threshold", 0.3)
            )
    return thresholds


@cache
def default_thresholds() -> dict[str, float]:
    """``config.yml``'s thresholds and the frustration threshold, read once per process."""
    from frontline.policy import policies

    return rasa_thresholds() | {
        "frustration_threshold": policies().escalation.frustration.threshold
    }


def _iso(timestamp: Any) -> str | None:
    if not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool):
        return None
    moment = datetime.fromtimestamp(float(timestamp), timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _intent(entry: Any) -> dict[str, Any] | None:
    if not isinstance(entry, Mapping) or not entry.get("name"):
        return None
    confidence = entry.get("confidence")
    return {
        "name": str(entry["name"]),
        "confidence": round(float(confidence), 4) if isinstance(confidence, (int, float)) else None,
    }


@dataclass
class _Message:
    """What the decisions of one turn need to know about the customer's message."""

    intent: dict[str, Any] | None = None
    runner_up: dict[str, Any] | None = None
    text: str | None = None
    channel: str | None = None
    message_id: str | None = None


@dataclass
class _Conversation:
    """Per-conversation state of the builder."""

    message: _Message = field(default_factory=_Message)
    pending: dict[str, Any] | None = None
    log_keys: set[tuple[Any, ...]] = field(default_factory=set)
    rules_before: list[dict[str, Any]] = field(default_factory=list)
    reason_before: str | None = None
    followup: tuple[str, list[dict[str, Any]], str | None] | None = None
    last_seen: float = 0.0


def _log_key(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    return (entry.get("action"), entry.get("result"), entry.get("detail"), entry.get("at"))


def _rule_entry(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping) or not value.get("id"):
        return None
    entry = {
        "id": str(value["id"]),
        "policy": value.get("policy"),
        "version": value.get("version"),
        "rationale": value.get("rationale"),
    }
    return entry


class DecisionBuilder:
    """Turns a stream of Rasa events (of many conversations) into decision records.

    A decision is complete when the next action, customer message, restart or session
    start of its conversation arrives, or when :meth:`flush` is called (at the end of
    a batch, or after a quiet period: a paused conversation has no next action).

    Args:
        thresholds: The thresholds recorded with each decision.
        versions: The policy versions recorded with each decision.
        max_conversations: Conversations whose state is kept; the least recently
            active are forgotten (their pending decision is emitted first).
        data_handling: When given, the personal entities the NLU found in a message
            (an e-mail, a ZIP code, a name...) are treated in its text as the policy
            says for ``audit``, before anything else sees it.
    """

    def __init__(
        self,
        thresholds: Mapping[str, float],
        versions: Mapping[str, str],
        *,
        max_conversations: int = 10_000,
        data_handling: DataHandlingPolicy | None = None,
    ) -> None:
        self.thresholds = dict(thresholds)
        self.versions = dict(versions)
        self.max_conversations = max_conversations
        self.data_handling = data_handling
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()

    def add(self, event: Mapping[str, Any], now: float = 0.0) -> list[dict[str, Any]]:
        """Takes one event (with ``sender_id``); returns the decisions it completed."""
        sender = str(event.get("sender_id") or "")
        kind = event.get("event")
        done: list[dict[str, Any]] = []
        state = self._conversations.get(sender)
        if state is None:
            state = _Conversation()
            self._conversations[sender] = state
            while len(self._conversations) > self.max_conversations:
                _, evicted = self._conversations.popitem(last=False)
                if evicted.pending:
                    done.append(evicted.pending)
        self._conversations.move_to_end(sender)
        state.last_seen = now
        if kind in _BOUNDARY_EVENTS and state.pending is not None:
            done.append(self._finish(state))
        if kind in ("restart", "session_started", "user"):
            state.message = self._message(event) if kind == "user" else _Message()
            state.rules_before = []
            state.reason_before = None
            state.followup = None
        elif kind == "action":
            name = str(event.get("name") or "")
            if name != ACTION_LISTEN:
                state.pending = self._start(sender, event, state)
            state.rules_before = []
            state.reason_before = None
        elif kind == "slot":
            self._slot(event, state)
        elif kind in ("pause", "resume", "active_loop", "followup"):
            target = state.pending
            if target is not None:
                label = kind if kind != "active_loop" else f"active_loop:{event.get('name')}"
                if kind == "followup":
                    label = f"followup:{event.get('name')}"
                target["events"].append(label)
        return done

    def flush(self, idle_before: float | None = None) -> list[dict[str, Any]]:
        """Completes pending decisions (of conversations quiet since ``idle_before``)."""
        done = []
        for state in self._conversations.values():
            if state.pending is not None and (
                idle_before is None or state.last_seen <= idle_before
            ):
                done.append(self._finish(state))
        return done

    # -- internals ---------------------------------------------------------------

    def _message(self, event: Mapping[str, Any]) -> _Message:
        parse = event.get("parse_data") or {}
        intent = _intent(parse.get("intent"))
        ranking = [
            item for item in (_intent(raw) for raw in parse.get("intent_ranking") or []) if item
        ]
        runner_up = next(
            (item for item in ranking if not intent or item["name"] != intent["name"]), None
        )
        return _Message(
            intent=intent,
            runner_up=runner_up,
            text=self._text(event.get("text"), parse.get("entities") or []),
            channel=event.get("input_channel"),
            message_id=event.get("message_id"),
        )

    def _text(self, text: Any, entities: list[Any]) -> str | None:
        """The message's text with the personal entities' spans treated for ``audit``."""
        if text is None:
            return None
        text = str(text)
        if self.data_handling is None:
            return text
        spans: list[tuple[int, int, FieldHandling]] = []
        for entity in entities:
            if not isinstance(entity, Mapping):
                continue
            start, end = entity.get("start"), entity.get("end")
            field = self.data_handling.field_for_key(str(entity.get("entity") or ""))
            if field and isinstance(start, int) and isinstance(end, int) and 0 <= start < end:
                spans.append((start, end, field))
        kept: list[tuple[int, int, FieldHandling]] = []
        for span in sorted(spans, key=lambda s: (s[0], -s[1])):
            if span[1] <= len(text) and (not kept or span[0] >= kept[-1][1]):
                kept.append(span)
        for start, end, field in reversed(kept):
            treatment = self.data_handling.treatment("audit", field.name)
            value = apply_treatment(treatment, field.masker, text[start:end])
            text = text[:start] + (value if value is not None else f"[{field.name}]") + text[end:]
        return text

    def _start(self, sender: str, event: Mapping[str, Any], state: _Conversation) -> dict[str, Any]:
        metadata = event.get("metadata") or {}
        confidence = event.get("confidence")
        message = state.message
        rules, reason = list(state.rules_before), state.reason_before
        if state.followup and state.followup[0] == event.get("name"):
            # Run as the follow-up of the previous action (e.g. a refused write handing
            # off): the rule that fired there is why this action runs.
            rules = state.followup[1] + rules
            reason = reason or state.followup[2]
        state.followup = None
        decision: dict[str, Any] = {
            "conversation_id": sender,
            "at": _iso(event.get("timestamp")),
            "action": str(event.get("name")),
            "policy": event.get("policy"),
            "confidence": round(float(confidence), 4)
            if isinstance(confidence, (int, float))
            else None,
            "intent": message.intent,
            "runner_up": message.runner_up,
            "text": message.text,
            "channel": message.channel,
            "message_id": message.message_id,
            "thresholds": self.thresholds,
            "rules": rules,
            "handoff_reason": reason,
            "backend_calls": [],
            "events": [],
            "model_id": metadata.get("model_id"),
            "policy_versions": self.versions,
        }
        assessment = metadata.get(ESCALATION_METADATA_KEY)
        if isinstance(assessment, Mapping):
            decision["escalation"] = dict(assessment)
        flags = metadata.get(FLAGS_METADATA_KEY)
        if isinstance(flags, list):
            decision["flags"] = [dict(f) for f in flags if isinstance(f, Mapping)]
        return decision

    def _slot(self, event: Mapping[str, Any], state: _Conversation) -> None:
        name, value = event.get("name"), event.get("value")
        target = state.pending
        if name == RULE_SLOT:
            rule = _rule_entry(value)
            if rule is None:
                return
            if target is not None:
                target["rules"].append(rule)
            else:
                state.rules_before.append(rule)  # set by a policy before its action ran
        elif name == REASON_SLOT and value:
            if target is not None:
                target["handoff_reason"] = value
            else:
                state.reason_before = str(value)
        elif name == LOG_SLOT and isinstance(value, list):
            for entry in value:
                if not isinstance(entry, Mapping):
                    continue
                key = _log_key(entry)
                if key in state.log_keys:
                    continue
                state.log_keys.add(key)
                if target is not None:
                    call = {
                        "action": entry.get("action"),
                        "result": entry.get("result"),
                        "detail": entry.get("detail"),
                        "at": entry.get("at"),
                    }
                    for optional in ("idempotency_key", "rule_id"):
                        if entry.get(optional):
                            call[optional] = entry[optional]
                    target["backend_calls"].append(call)
            # Keep the memory of seen entries as bounded as the slot itself.
            if len(state.log_keys) > 4 * max(len(value), 1):
                state.log_keys = {_log_key(e) for e in value if isinstance(e, Mapping)}
        elif target is not None and name and name != "requested_slot":
            target["events"].append(f"slot:{name}")

    @staticmethod
    def _finish(state: _Conversation) -> dict[str, Any]:
        decision = state.pending or {}
        state.pending = None
        followups = [
            e.split(":", 1)[1] for e in decision.get("events", []) if e.startswith("followup:")
        ]
        if followups:
            state.followup = (followups[-1], list(decision["rules"]), decision["handoff_reason"])
        decision["rationale"] = rationale(decision)
        return decision


def rationale(decision: Mapping[str, Any]) -> str:
    """One sentence explaining a decision: who chose what, on which evidence, which rule."""
    parts = [f"{decision.get('policy') or 'the dialogue'} chose {decision.get('action')}"]
    confidence = decision.get("confidence")
    if isinstance(confidence, (int, float)):
        parts[0] += f" (confidence {confidence:.2f})"
    intent = decision.get("intent")
    if intent:
        evidence = f"after intent {intent['name']}"
        if intent.get("confidence") is not None:
            evidence += f" ({intent['confidence']:.2f}"
            runner_up = decision.get("runner_up")
            if runner_up and runner_up.get("confidence") is not None:
                evidence += f"; runner-up {runner_up['name']} {runner_up['confidence']:.2f}"
            evidence += ")"
        parts.append(evidence)
    text = " ".join(parts) + "."
    for rule in decision.get("rules") or []:
        text += f" Rule {rule['id']} fired: {rule.get('rationale') or 'no rationale recorded'}"
        if not text.endswith("."):
            text += "."
    for call in decision.get("backend_calls") or []:
        text += f" {call.get('action')}: {call.get('result')}."
    return text


def decisions_from_events(
    events: Iterable[Mapping[str, Any]],
    conversation_id: str,
    *,
    thresholds: Mapping[str, float] | None = None,
    versions: Mapping[str, str] | None = None,
    running: str | None = None,
) -> list[dict[str, Any]]:
    """The decision records of one conversation's events (e.g. a tracker's).

    Args:
        running: The action running now, if the events come from its tracker (an
            action does not see its own action event yet): it gets a record too, with
            the evidence and rules that led to it; its dialogue policy is not known.
    """
    builder = DecisionBuilder(thresholds or {}, versions or {})
    decisions = []
    for event in events:
        if isinstance(event, Mapping):
            decisions += builder.add({**event, "sender_id": conversation_id})
    if running:
        decisions += builder.add({"event": "action", "name": running, "sender_id": conversation_id})
    return decisions + builder.flush()

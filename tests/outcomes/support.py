"""Recorded Rasa conversations (``trackers/*.json``) and the parts the outcome tests use."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontline.outcomes.folding import OutcomeFolder
from frontline.outcomes.human_side import QueueReader
from frontline.outcomes.policy import OutcomePolicies, outcome_policies
from frontline.outcomes.processor import OutcomeProcessor
from frontline.outcomes.pseudonym import pseudonymizer
from frontline.outcomes.sql_store import SqlOutcomeStore

TRACKERS = Path(__file__).resolve().parent / "trackers"
KEY = "test-pseudonym-key-0123456789"
TIERS = {"C1001": "gold", "C1002": "silver", "C1003": "bronze"}


@dataclass
class Recorded:
    """One recorded conversation: its events as the broker receives them."""

    conversation_id: str
    events: list[dict[str, Any]]
    handoff: dict[str, Any] | None

    def start(self) -> float:
        return float(self.events[0]["timestamp"])

    def end(self) -> float:
        return float(self.events[-1]["timestamp"])

    def retimed(
        self,
        start: float,
        *,
        conversation_id: str | None = None,
        channel: str | None = None,
    ) -> Recorded:
        """The same events moved to begin at ``start`` (another conversation id and
        channel if given): a customer coming back days later on another channel."""
        shift = start - self.start()
        sender = conversation_id or self.conversation_id
        events = []
        for event in copy.deepcopy(self.events):
            event["timestamp"] = float(event["timestamp"]) + shift
            event["sender_id"] = sender
            if channel and event.get("event") == "user":
                event["input_channel"] = channel
            events.append(event)
        return Recorded(sender, events, self.handoff)

    def split(self, predicate: Callable[[dict[str, Any]], bool]) -> tuple[list, list]:
        """Events up to and including the first that matches, and the rest."""
        for index, event in enumerate(self.events):
            if predicate(event):
                return self.events[: index + 1], self.events[index + 1 :]
        return self.events, []


def recorded(name: str) -> Recorded:
    document = json.loads((TRACKERS / f"{name}.json").read_text(encoding="utf-8"))
    sender = document["conversation_id"]
    events = [{**event, "sender_id": sender} for event in document["events"]]
    return Recorded(sender, events, document.get("handoff"))


@dataclass
class Clock:
    """An injectable clock (epoch seconds)."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Writer:
    """A processor over a real store, as the broker's thread runs it."""

    store: SqlOutcomeStore
    processor: OutcomeProcessor
    clock: Clock
    policies: OutcomePolicies = field(default_factory=outcome_policies)

    def feed(self, events: list[dict[str, Any]]) -> None:
        self.processor.process(events)

    def record(self, conversation_id: str) -> Any:
        [record] = self.store.for_conversation(conversation_id)
        return record


def make_writer(
    url: str,
    *,
    clock: Clock | None = None,
    queue: QueueReader | None = None,
    feedback: Any = None,
    sentiment: Callable[[str, str | None], float] | None = None,
) -> Writer:
    policies = outcome_policies()
    clock = clock or Clock()
    store = SqlOutcomeStore(url)
    folder = OutcomeFolder(
        policies.outcomes,
        pseudonymize=pseudonymizer(KEY),
        tier_of=TIERS.get,
        sentiment=sentiment,
        policy_version="test-policies",
    )
    processor = OutcomeProcessor(
        store, folder, policies.outcomes, feedback=feedback, queue=queue, clock=clock
    )
    return Writer(store, processor, clock, policies)

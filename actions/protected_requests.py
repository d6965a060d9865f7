"""What the assistant may not do itself: protected details and privacy requests.

Each is explained, then handed to a person with its reason (no verification first:
the person verifies with proof; nothing is read or changed here).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from frontline.services.action_log import log_entry
from frontline.services.protected_requests import (
    PRIVACY_REQUEST_EXPLAINED,
    PROTECTED_CHANGE_EXPLAINED,
    Explained,
)


class ExplainAndHandOff(Action, ABC):
    """Sends the explanation, then hands off with its reason (abstract: no name)."""

    explained: Explained

    @abstractmethod
    def name(self) -> str:
        """The action's name."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response=self.explained.response)
        log = log_entry(tracker.get_slot("action_log"), self.name(), "handed_off")
        slots = self.explained.handoff_slots()
        return (
            [SlotSet("action_log", log)]
            + [SlotSet(name, value) for name, value in slots.items()]
            + [FollowupAction("action_handoff")]
        )


class ActionExplainProtectedChange(ExplainAndHandOff):
    """Legal name and date of birth: only a person, with proof, changes them."""

    explained = PROTECTED_CHANGE_EXPLAINED

    def name(self) -> str:
        return "action_explain_protected_change"


class ActionExplainPrivacyRequest(ExplainAndHandOff):
    """Account deletion and "what data do you hold": a privacy request for a person."""

    explained = PRIVACY_REQUEST_EXPLAINED

    def name(self) -> str:
        return "action_explain_privacy_request"

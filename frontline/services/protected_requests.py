"""Requests the assistant explains and hands to a person: protected details and privacy.

The legal name and the date of birth are identity data: only a person, with proof,
changes them (reason ``protected_change``). Deleting an account or telling what data
is held is a privacy request under data-protection law (reason ``privacy_request``,
marked as such in the handoff packet). Nothing is changed by the assistant.
"""

from __future__ import annotations

from dataclasses import dataclass

from frontline.services.handoff import PRIVACY_REQUEST, PROTECTED_CHANGE


@dataclass(frozen=True)
class Explained:
    """What the customer is told, and how the conversation goes to a person."""

    response: str
    reason_code: str
    rationale: str

    def handoff_slots(self) -> dict[str, str]:
        """Slots that send the conversation to a person with this reason and rationale."""
        return {"handoff_reason": self.reason_code, "handoff_note": self.rationale}


PROTECTED_CHANGE_EXPLAINED = Explained(
    "utter_protected_change_explained",
    PROTECTED_CHANGE,
    "The customer asked to change their legal name or date of birth, which the assistant "
    "may not change; please check their proof of identity and make the change.",
)
PRIVACY_REQUEST_EXPLAINED = Explained(
    "utter_privacy_request_explained",
    PRIVACY_REQUEST,
    "Privacy request: the customer asked to delete their account or to know what data is "
    "held about them; please handle it under the data protection procedure.",
)

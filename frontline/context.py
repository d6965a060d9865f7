"""The conversation as an action sees it: typed, built once per action run.

Actions used to re-read ``tracker.current_state()`` dicts and slot names in many places;
:class:`ConversationContext` reads them once. The verified customer is *not* taken from
the posted slots when an identity store is given: it comes from Frontline's own
server-side record of the verification (:mod:`frontline.identity`), so a caller that
forges ``customer_verified`` in the tracker gets no account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from frontline.services.guardrails import WriteContext
from frontline.vocabulary import Slot


class TrackerLike(Protocol):
    """What :meth:`ConversationContext.from_tracker` reads (rasa_sdk's ``Tracker``)."""

    sender_id: str

    def current_state(self) -> dict[str, Any]:
        ...


@dataclass(frozen=True)
class ConversationContext:
    """One conversation at the moment an action runs.

    Attributes:
        conversation_id: Rasa's sender id.
        channel: The input channel of the latest customer message.
        customer_id: The customer verified *server-side* for this conversation (None if
            not verified); see :mod:`frontline.identity`.
        claimed_customer_id: The ``customer_id`` slot as the tracker posted it (a claim,
            never used for a write or a read of account data).
        slots: Every slot value as posted (for flow state such as ``order_id``).
        events: The tracker's events, oldest first (consent evidence is read from them).
        latest_intent: The intent of the latest customer message.
    """

    conversation_id: str
    channel: str | None
    customer_id: str | None
    claimed_customer_id: str | None = None
    slots: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[Mapping[str, Any]] = ()
    latest_intent: str | None = None

    @property
    def verified(self) -> bool:
        """Whether a customer was verified server-side in this conversation."""
        return bool(self.customer_id)

    @property
    def forged(self) -> bool:
        """The tracker claims a verified customer that the identity store does not know."""
        claims = bool(self.slots.get(Slot.CUSTOMER_VERIFIED)) and bool(self.claimed_customer_id)
        return claims and self.customer_id != self.claimed_customer_id

    def write_context(self) -> WriteContext:
        """What the write path's guardrails need (identity from the server-side store)."""
        return WriteContext(
            self.conversation_id, self.channel, self.verified, self.events, self.customer_id
        )

    def slot(self, name: str) -> Any:
        """A slot's posted value (None when unset)."""
        return self.slots.get(name)

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], verified_customer_id: str | None
    ) -> ConversationContext:
        """Builds the context from a tracker state (``Tracker.current_state()``).

        Args:
            state: The tracker state.
            verified_customer_id: The customer the identity store holds for this
                conversation (None: not verified server-side).
        """
        slots = dict(state.get("slots") or {})
        events = [e for e in state.get("events") or [] if isinstance(e, Mapping)]
        channel = state.get("latest_input_channel")
        if not channel:
            users = [e for e in events if e.get("event") == "user"]
            channel = users[-1].get("input_channel") if users else None
        latest = state.get("latest_message") or {}
        intent = (latest.get("intent") or {}).get("name")
        claimed = slots.get(Slot.CUSTOMER_ID)
        return cls(
            conversation_id=str(state.get("sender_id") or ""),
            channel=channel,
            customer_id=verified_customer_id,
            claimed_customer_id=str(claimed) if claimed else None,
            slots=slots,
            events=events,
            latest_intent=intent,
        )

    @classmethod
    def from_slots_only(cls, state: Mapping[str, Any]) -> ConversationContext:
        """The context trusting the posted slots for the verified customer (tests and
        tools outside the action server only)."""
        slots = state.get("slots") or {}
        customer = slots.get(Slot.CUSTOMER_ID) if slots.get(Slot.CUSTOMER_VERIFIED) else None
        return cls.from_state(state, str(customer) if customer else None)

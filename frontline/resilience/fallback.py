"""What the customer is told when their message failed because a dependency was down.

Rasa answers such a message with silence (the action server unreachable or too slow,
its events lost), or the turn fails as a whole (the tracker store's database or the lock
store's Redis down). The channels then call :meth:`TurnFallback.answer`: a handoff with
reason ``dependency_down`` is recorded in the outbox (:mod:`frontline.resilience.outbox`,
delivered to the queue once it answers) and the customer is told so, with its reference;
if not even the outbox can be written, they are asked to try again later. The words
are policy (``policies/dependencies.yml``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from frontline.errors import PacketInvalid
from frontline.handoff.base import run_blocking
from frontline.handoff.packet import build_packet
from frontline.policy import policies
from frontline.policy.loading import PolicyView, load_policy
from frontline.resilience.outbox import HandoffOutbox, OutboxError
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

#: The handoff reason code (shared vocabulary).
DEPENDENCY_DOWN = "dependency_down"
POLICY_NAME = "dependencies"
#: The name the channels record when the customer was told a handoff was recorded (not a
#: domain response: the words are this policy's); ``policies/limits.yml`` counts it
#: against the cap on handoffs of unverified conversations, like ``utter_handoff``.
HANDOFF_RECORDED_RESPONSE = "utter_dependency_handoff"


@dataclass(frozen=True)
class DependenciesPolicy(PolicyView):
    """Typed view of ``policies/dependencies.yml``."""

    @property
    def handoff_recorded(self) -> str:
        return str(self.module.rules["messages"]["handoff_recorded"])

    @property
    def try_again(self) -> str:
        return str(self.module.rules["messages"]["try_again"])

    def rationale(self, dependencies: Sequence[str]) -> str:
        names = ", ".join(dependencies) or "unknown"
        return str(self.module.rules["rationale"]).format(dependencies=names)[:300]


@cache
def dependencies_policy(policies_dir: Path | None = None) -> DependenciesPolicy:
    """The dependencies policy, loaded once per process."""
    return DependenciesPolicy(load_policy(POLICY_NAME, policies_dir))


def conversation_of_one_message(
    conversation_id: str, text: str | None, channel: str | None, now: datetime
) -> dict[str, Any]:
    """A conversation state holding only the customer's message (its tracker unreadable)."""
    event = {
        "event": "user",
        "timestamp": now.timestamp(),
        "text": text or "",
        "parse_data": {"text": text or "", "intent": {}, "entities": []},
        "input_channel": channel,
    }
    return {
        "sender_id": conversation_id,
        "slots": {},
        "latest_message": event["parse_data"],
        "events": [event],
        "latest_input_channel": channel,
    }


def dependency_packet(
    conversation: Mapping[str, Any], dependencies: Sequence[str], now: datetime | None = None
) -> dict[str, Any]:
    """The context packet of a handoff because ``dependencies`` were down.

    The customer counts as unverified: the CRM is not asked (it may be down too).

    Raises:
        PacketInvalid: The packet does not match its schema.
    """
    escalation = policies().escalation
    return build_packet(
        conversation,
        reason_code=DEPENDENCY_DOWN,
        rationale=dependencies_policy().rationale(dependencies),
        priority=escalation.priority(DEPENDENCY_DOWN, None),
        customer=None,
        now=now,
    )


class TurnFallback:
    """Answers a customer whose message failed, and records their handoff (see module).

    Args:
        outbox: Where the handoff waits for the queue.
        policy: The words.
    """

    def __init__(self, outbox: HandoffOutbox, policy: DependenciesPolicy) -> None:
        self.outbox = outbox
        self.policy = policy

    def record(
        self,
        conversation: Mapping[str, Any],
        dependencies: Sequence[str],
        now: datetime | None = None,
    ) -> str | None:
        """Records the handoff (blocking); its reference, or None if it could not be."""
        try:
            packet = dependency_packet(conversation, dependencies, now)
            entry = self.outbox.add(packet, cause=", ".join(dependencies))
        except (OutboxError, PacketInvalid) as exc:
            logger.error(
                "Could not record a handoff for %s: %s", conversation.get("sender_id"), exc
            )
            return None
        return entry.reference

    def text(self, reference: str | None) -> str:
        """What the customer is told."""
        if reference is None:
            return self.policy.try_again
        return self.policy.handoff_recorded.format(reference=reference)

    async def answer(
        self,
        output: Any,
        recipient_id: str,
        conversation: Mapping[str, Any],
        dependencies: Sequence[str],
    ) -> str | None:
        """Records the handoff off the event loop, then tells the customer on ``output``.

        Returns:
            The handoff's reference, None when it could not be recorded.
        """
        now = datetime.now(timezone.utc)
        reference = await run_blocking(self.record, conversation, dependencies, now)
        await output.send_text_message(recipient_id, self.text(reference))
        return reference


@lru_cache(maxsize=1)
def turn_fallback() -> TurnFallback:
    """The process's fallback, on Frontline's database (nothing connects until used)."""
    return TurnFallback(HandoffOutbox(get_settings().database_url), dependencies_policy())

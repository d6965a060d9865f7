"""The write path's capability provider: ``write.*`` flags and the kill switch.

The write path (``frontline/writes/``) asks its capability provider before every write
whether ``write.<operation>`` is on for this conversation; :class:`FlagWriteCapabilities`
answers from the feature flags (through OpenFeature, :mod:`frontline.flags.capabilities`)
and is registered once per action-server process::

    from frontline.writes import set_capability_provider
    set_capability_provider(FlagWriteCapabilities())

``is_enabled`` is the write path's protocol (a yes or no); :meth:`evaluate` gives the
whole :class:`~frontline.flags.capabilities.Evaluation` (reason code ``kill_switch`` or
``capability_off``, rule, the customer's words, the audit evidence) for a guard that
records it with the write. The flags are read on a worker thread: the first read of a
write may touch the database, and the action server's event loop must not wait on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from frontline.flags.capabilities import Evaluation, FlagCapabilityProvider
from frontline.flags.evaluation import FlagContext

logger = logging.getLogger(__name__)


def flag_context(context: Mapping[str, str | None]) -> FlagContext:
    """Our context from the write path's (``conversation_id``, ``channel``,
    ``customer_id``, ``tier``)."""
    return FlagContext(
        conversation_id=context.get("conversation_id") or "",
        customer_id=context.get("customer_id") or None,
        channel=context.get("channel") or None,
        tier=context.get("tier") or None,
    )


class FlagWriteCapabilities:
    """Answers the write path from the feature flags.

    Args:
        capabilities: The flags (default: the process's, through OpenFeature).
    """

    def __init__(self, capabilities: FlagCapabilityProvider | None = None) -> None:
        self._capabilities = capabilities

    def __repr__(self) -> str:
        return f"FlagWriteCapabilities(flags {self.version})"

    @property
    def capabilities(self) -> FlagCapabilityProvider:
        if self._capabilities is None:
            self._capabilities = FlagCapabilityProvider()
        return self._capabilities

    @property
    def version(self) -> str:
        """What the audit trail records as the answer's source: ``flags@1.0.0``."""
        return f"flags@{self.capabilities.policy.version}"

    async def evaluate(self, capability: str, context: Mapping[str, str | None]) -> Evaluation:
        """The flag of ``capability`` (``write.cancel_order`` or ``cancel_order``) for
        ``context``, with its evidence and, when off, its handoff."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, self.capabilities.is_enabled, capability, flag_context(context)
        )

    async def is_enabled(self, capability: str, context: Mapping[str, str | None]) -> bool:
        """Whether ``capability`` is on for ``context`` (the write path's protocol)."""
        evaluation = await self.evaluate(capability, context)
        if not evaluation.enabled:
            logger.info(
                "Write %s refused by flags for %s: %s",
                capability,
                context.get("conversation_id"),
                evaluation.rule or evaluation.reason,
            )
        return evaluation.enabled

"""One customer message through Rasa, for every channel: a failure is never silence.

Rasa's own channels answer a message whose handling raised with nothing (an empty HTTP
200), and Rasa's processor answers with nothing when a custom action failed. Every
Frontline channel runs its messages through :func:`run_message` instead, which tells the
customer and records a handoff (docs/decisions/dependency-failures.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from rasa.shared.core.trackers import EventVerbosity

from frontline.channels.admission import RecordsResponses
from frontline.resilience import turn
from frontline.resilience.fallback import (
    HANDOFF_RECORDED_RESPONSE,
    conversation_of_one_message,
    turn_fallback,
)

logger = logging.getLogger(__name__)


async def run_message(
    on_new_message: Callable[[Any], Awaitable[Any]], message: Any, app: Any = None
) -> bool:
    """Runs one customer message through Rasa; a dependency that is down is never silence.

    When handling the message fails (the tracker store's database or the lock store's
    Redis down: the turn raises), or Rasa answered it with silence because a custom
    action failed or did not answer in time (noted by
    :mod:`frontline.runtime.patches.action_failures`), the customer is told on the
    message's output channel and a ``dependency_down`` handoff is recorded
    (:mod:`frontline.resilience.fallback`).

    Rasa 3.6's SQL tracker store calls ``sys.exit`` for any ``ValueError`` inside a
    database session (it takes them for a missing PostgreSQL schema), so one message
    that a database cannot encode stopped the whole server. Input checks keep such
    messages out; this keeps any that slip through from ending the process.

    Args:
        on_new_message: Rasa's handler.
        message: The ``UserMessage``.
        app: The Sanic app (its agent's tracker store gives the handoff the transcript).

    Returns:
        False (logged) only when the customer could not even be told.
    """
    with turn.watching() as record:
        failed = await _handle(on_new_message, message)
    if failed is None and not record.failures:
        return True
    dependencies = record.dependencies
    if failed is not None and failed not in dependencies:
        if failed != turn.UNKNOWN or not dependencies:
            dependencies = [*dependencies, failed]
    logger.error(
        "Message of %s failed (%s): telling the customer, recording a handoff",
        message.sender_id,
        "; ".join(f"{f.dependency}: {f.detail}" for f in record.failures) or failed,
    )
    conversation = None if failed else await _conversation_state(app, message.sender_id)
    if conversation is None:
        conversation = conversation_of_one_message(
            message.sender_id, message.text, message.input_channel, datetime.now(timezone.utc)
        )
    output = message.output_channel
    try:
        reference = await turn_fallback().answer(
            output, message.sender_id, conversation, dependencies
        )
    except Exception:  # noqa: BLE001 - the channel itself is down: the caller answers
        logger.exception("Could not tell %s that their message failed", message.sender_id)
        return False
    if reference is not None and isinstance(output, RecordsResponses):
        # Counted like any handoff against the cap on unverified handoffs per client.
        output.responses_sent.append(HANDOFF_RECORDED_RESPONSE)
    return True


async def _handle(on_new_message: Callable[[Any], Awaitable[Any]], message: Any) -> str | None:
    """Runs the message; None, or the dependency most likely down when it raised."""
    try:
        await on_new_message(message)
    except asyncio.CancelledError:
        raise
    except SystemExit as exc:
        logger.error("Handling a message tried to stop the server; refused", exc_info=True)
        return failed_dependency(exc)
    except Exception as exc:  # noqa: BLE001 - one failed message is answered, never raised further
        logger.exception("Handling a message failed")
        return failed_dependency(exc)
    return None


def failed_dependency(error: BaseException) -> str:
    """The dependency an exception (or one it was raised from) comes from."""
    seen: BaseException | None = error
    while seen is not None:
        module = type(seen).__module__.split(".")[0]
        if module == "redis":
            return turn.LOCK_STORE
        if module in ("sqlalchemy", "psycopg2", "sqlite3") or isinstance(seen, SystemExit):
            return turn.TRACKER_STORE
        seen = seen.__cause__ or seen.__context__
    return turn.UNKNOWN


async def _conversation_state(app: Any, conversation_id: str) -> dict[str, Any] | None:
    """The conversation as the tracker store has it, for the handoff; None if unreadable."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return None
    try:
        tracker = await store.retrieve(conversation_id)
    except Exception:  # noqa: BLE001 - the handoff then carries the message alone
        logger.warning("Could not read conversation %s for its handoff", conversation_id)
        return None
    if tracker is None:
        return None
    return dict(tracker.current_state(EventVerbosity.ALL))

"""What failed while one customer message was handled.

The channels handle each message inside :func:`watching`; code deep inside Rasa that sees
a dependency fail (the action server call, :mod:`frontline.runtime.patches.action_failures`)
calls :func:`note`. Rasa itself swallows those failures and answers with nothing, so this
record is how the channel learns that the customer's silence was not the bot's choice.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

#: Dependency names, as :mod:`frontline.resilience.health` reports them.
ACTION_SERVER = "action_server"
TRACKER_STORE = "tracker_store"
LOCK_STORE = "lock_store"
QUEUE = "queue"
DATABASE = "database"
BACKENDS = "backends"
#: The turn failed as a whole and nothing says which dependency was down.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Failure:
    """One dependency that failed during the turn, and how."""

    dependency: str
    detail: str


@dataclass
class TurnRecord:
    """The failures noted while one message was handled."""

    failures: list[Failure] = field(default_factory=list)

    @property
    def dependencies(self) -> list[str]:
        """The failed dependencies, each once, in the order they failed."""
        return list(dict.fromkeys(failure.dependency for failure in self.failures))


_current: ContextVar[TurnRecord | None] = ContextVar("frontline_turn_record", default=None)


@contextlib.contextmanager
def watching() -> Iterator[TurnRecord]:
    """Records the failures noted while the block runs (one customer message)."""
    record = TurnRecord()
    token = _current.set(record)
    try:
        yield record
    finally:
        _current.reset(token)


def note(dependency: str, detail: str) -> None:
    """Notes that ``dependency`` failed during the current message (if one is watched)."""
    record = _current.get()
    if record is not None:
        record.failures.append(Failure(dependency, detail[:500]))


def notes_failures(
    dependency: str,
) -> Callable[[Callable[..., Awaitable[T]]], Callable[..., Awaitable[T]]]:
    """Decorates an async method whose failure means ``dependency`` is down: the failure
    is noted for the current message, then raised unchanged.

    For stores whose errors Rasa hides: its ``FailSafeTrackerStore`` answers a failed
    tracker store from an empty in-memory one, so the bot would go on without the
    conversation's history and nobody would know.
    """

    def decorate(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        @functools.wraps(method)
        async def noting(*args: Any, **kwargs: Any) -> T:
            try:
                return await method(*args, **kwargs)
            except Exception as exc:
                note(dependency, f"{type(exc).__name__}: {exc}")
                raise

        return noting

    return decorate

"""A process's view of overrides and the kill switch.

:class:`FlagState` reads the change counter before each use (or once for a block of
evaluations, :meth:`FlagState.consistent_view`) and reloads the overrides only when the
counter moved; when the database cannot be read it keeps the last view for
``max_stale_seconds``.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from frontline.flags.evaluation import Snapshot
from frontline.flags.signal import ChangeSignal
from frontline.flags.store import FlagStoreError, SqlFlagStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class View:
    """A snapshot and whether it may be out of date (the database could not be read)."""

    snapshot: Snapshot
    stale: bool = False


_pinned: contextvars.ContextVar[
    tuple[FlagState, View | FlagStoreError] | None
] = contextvars.ContextVar("frontline_flags_pinned", default=None)


class FlagState:
    """A process's view of overrides and the kill switch, current to the last check.

    Args:
        store: Where the overrides are.
        signal: How a change is noticed.
        max_stale_seconds: How long the last view is used while the database cannot be read.
        clock: Monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        store: SqlFlagStore,
        signal: ChangeSignal,
        max_stale_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.signal = signal
        self.max_stale_seconds = max_stale_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0

    def view(self) -> View:
        """The current view: the pinned one inside :meth:`consistent_view`, else checked now.

        Raises:
            FlagStoreError: the database cannot be read and the last view is too old (or
                there is none).
        """
        pinned = _pinned.get()
        if pinned is not None and pinned[0] is self:
            if isinstance(pinned[1], FlagStoreError):
                raise pinned[1]
            return pinned[1]
        try:
            version = self.signal.current()
            with self._lock:
                cached = self._snapshot
            if cached is None or cached.version != version:
                cached = self.store.read_snapshot()
            with self._lock:
                if self._snapshot is None or cached.version >= self._snapshot.version:
                    self._snapshot = cached
                self._checked_at = self._clock()
            return View(cached)
        except FlagStoreError:
            with self._lock:
                cached, age = self._snapshot, self._clock() - self._checked_at
            if cached is not None and age <= self.max_stale_seconds:
                logger.warning("Flag store unreachable; using the view of %.1f s ago", age)
                return View(cached, stale=True)
            raise

    @contextlib.contextmanager
    def consistent_view(self) -> Iterator[None]:
        """Checks once; every evaluation inside the block sees that same view (or, when
        the database could not be read, the same error, without asking it again)."""
        outcome: View | FlagStoreError
        try:
            outcome = self.view()
        except FlagStoreError as exc:
            outcome = exc
        token = _pinned.set((self, outcome))
        try:
            yield
        finally:
            _pinned.reset(token)

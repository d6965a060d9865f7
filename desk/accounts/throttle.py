"""Slowing down password guessing at the desk's sign-in."""

from __future__ import annotations

import threading
import time
from collections import deque


class SignInThrottle:
    """Slows down password guessing: a few failures per name and address, then a pause.

    In-process (the desk runs as one process); a restart forgets the failures.

    Args:
        max_failures: Failures allowed within ``window`` seconds.
        window: Seconds a failure counts for.
    """

    def __init__(self, max_failures: int = 5, window: float = 900.0) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, *keys: str) -> bool:
        """Whether any key has used up its failures."""
        now = time.monotonic()
        with self._lock:
            return any(self._count(key, now) >= self.max_failures for key in keys)

    def failed(self, *keys: str) -> None:
        """Records a failed sign-in for each key."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 10_000:  # bounded memory under a spray of names
                self._failures = {
                    key: failures
                    for key, failures in self._failures.items()
                    if failures and failures[-1] >= now - self.window
                }
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, *keys: str) -> None:
        """Forgets the failures of each key."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _count(self, key: str, now: float) -> int:
        failures = self._failures.get(key)
        if not failures:
            return 0
        while failures and failures[0] < now - self.window:
            failures.popleft()
        return len(failures)

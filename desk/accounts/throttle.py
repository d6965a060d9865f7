"""Slowing down password guessing at the desk's sign-in without locking others out.

* :class:`SignInThrottle`: per-key backoff. A key (an agent name, a client address) has a
  few free attempts; after that each attempt must wait twice as long as the one before,
  up to a cap. An attempt counts from the moment it is admitted (before its password is
  checked), so a burst of concurrent attempts cannot all slip past the limit.
* :class:`DeviceTokens`: OWASP's "device cookies". A browser that signed in as an agent
  gets a token for that name; with it, that agent's sign-in skips the client address's
  backoff, so an attacker behind the same office address cannot lock the office out.

Both are in-process (the desk runs as one process); a restart forgets them.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Key:
    failures: deque[float] = field(default_factory=deque)
    in_flight: int = 0
    last: float = 0.0


class SignInThrottle:
    """Per-key exponential backoff on failed sign-ins.

    Args:
        free_attempts: Failures (plus attempts in flight) allowed within ``window``
            before backoff starts.
        window: Seconds a failure counts for.
        base_delay: The first wait once the free attempts are used, in seconds.
        max_delay: The longest wait, in seconds.
        max_in_flight: Attempts of one key checked at the same time at most.
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        free_attempts: int = 5,
        window: float = 900.0,
        *,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        max_in_flight: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free_attempts = free_attempts
        self.window = window
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_in_flight = max_in_flight
        self._clock = clock
        self._keys: dict[str, _Key] = {}
        self._lock = threading.Lock()

    def admit(self, *keys: str) -> float:
        """Admits one attempt for every key, or none.

        Returns:
            0 when admitted (then call :meth:`finish` with the same keys), else the
            seconds to wait before trying again.
        """
        now = self._clock()
        with self._lock:
            waits = [self._wait(self._keys.get(key), now) for key in keys]
            if any(waits):
                return max(waits)
            self._forget_old(now)
            for key in keys:
                state = self._keys.setdefault(key, _Key())
                state.in_flight += 1
                state.last = now
            return 0.0

    def finish(self, *keys: str, failed: bool, forget: bool = False) -> None:
        """Ends an admitted attempt.

        Args:
            keys: The keys given to :meth:`admit`.
            failed: The password was wrong: the attempt counts as a failure.
            forget: Forget the keys' earlier failures (a correct password).
        """
        now = self._clock()
        with self._lock:
            for key in keys:
                state = self._keys.setdefault(key, _Key())
                state.in_flight = max(state.in_flight - 1, 0)
                if failed:
                    state.failures.append(now)
                    state.last = now
                elif forget:
                    state.failures.clear()

    def retry_after(self, *keys: str) -> float:
        """Seconds before every key may try again (0: now)."""
        now = self._clock()
        with self._lock:
            return max((self._wait(self._keys.get(key), now) for key in keys), default=0.0)

    def _wait(self, state: _Key | None, now: float) -> float:
        if state is None:
            return 0.0
        while state.failures and state.failures[0] < now - self.window:
            state.failures.popleft()
        if state.in_flight >= self.max_in_flight:
            return max(self.base_delay, 1.0)
        over = len(state.failures) + state.in_flight - self.free_attempts
        if over < 0:
            return 0.0
        delay = min(self.base_delay * 2.0**over, self.max_delay)
        return max(delay - (now - state.last), 0.0)

    def _forget_old(self, now: float) -> None:
        if len(self._keys) <= 10_000:  # bounded memory under a spray of names
            return
        self._keys = {
            key: state
            for key, state in self._keys.items()
            if state.in_flight or (state.failures and state.failures[-1] >= now - self.window)
        }


class DeviceTokens:
    """Tokens given to a browser that signed in, valid for that agent name only.

    Only the tokens' SHA-256 is kept, at most ``capacity`` of them (the oldest go first).
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._names: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, name: str) -> str:
        """A new token for ``name``."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._names[_digest(token)] = name.lower()
            while len(self._names) > self.capacity:
                self._names.popitem(last=False)
        return token

    def valid(self, token: str | None, name: str) -> bool:
        """Whether ``token`` was issued for ``name``."""
        if not token or len(token) > 256:
            return False
        with self._lock:
            return self._names.get(_digest(token)) == name.lower()

    def revoke(self, token: str | None) -> None:
        """Forgets ``token`` (its password failed)."""
        if token:
            with self._lock:
                self._names.pop(_digest(token), None)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()

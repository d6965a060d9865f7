"""Password checks off the event loop, a few at a time.

scrypt takes about half a second of CPU and 32 MiB per check. :class:`PasswordChecks`
runs checks in its own small thread pool (never the default executor, which serves the
database calls of every other request) behind a semaphore, and refuses at once when too
many are already waiting, so a burst of sign-ins cannot stall other agents' requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ChecksBusy(Exception):
    """Too many password checks are waiting; try again shortly."""


class PasswordChecks:
    """Runs blocking password checks in a bounded pool.

    Args:
        concurrency: Checks running at the same time at most (threads of the pool).
        max_waiting: Checks waiting for a thread at most; more are refused.
    """

    def __init__(self, concurrency: int = 1, max_waiting: int = 8) -> None:
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self.started = 0  # checks run so far (for tests and metrics)
        self._waiting = 0
        self._semaphore: asyncio.Semaphore | None = None
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="desk-password")

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Runs ``function(*args)`` in the pool.

        Raises:
            ChecksBusy: ``max_waiting`` checks are waiting already.
        """
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        if self._semaphore.locked() and self._waiting >= self.max_waiting:
            raise ChecksBusy("too many sign-ins are being checked")
        self._waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self._waiting -= 1
        try:
            self.started += 1
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, function, *args)
        finally:
            self._semaphore.release()

    def close(self) -> None:
        """Stops the pool's threads."""
        self._executor.shutdown(wait=False)

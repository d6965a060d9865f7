"""The desk's background work while the server runs: re-offering and purging.

* Every few seconds (a third of the lease, at most 10 s), new handoffs are offered and
  those whose agent went silent are offered again (:meth:`HandoffQueue.deliver`).
* Every ten minutes, ended sessions are deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sanic import Sanic

from desk.accounts.model import AccountStoreUnavailable
from desk.context import DeskContext
from frontline.errors import QueueError
from frontline.handoff.base import run_blocking

logger = logging.getLogger(__name__)

#: Seconds between two purges of ended sessions.
PURGE_EVERY_SECONDS = 600.0


async def redeliver_forever(desk: DeskContext) -> None:
    """Offers new handoffs and re-offers those whose agent went silent."""
    every = max(min(desk.queue.lease_seconds / 3, 10.0), 0.2)
    while True:
        try:
            await desk.service.deliver()
        except QueueError as exc:
            logger.warning("Could not re-offer lapsed handoffs: %s", exc)
        await asyncio.sleep(every)  # the pace of the background loop


async def purge_forever(desk: DeskContext) -> None:
    """Deletes ended desk sessions now and then."""
    while True:
        try:
            purged = await run_blocking(desk.store.purge_sessions)
            if purged:
                logger.info("Purged %d ended desk sessions", purged)
        except AccountStoreUnavailable as exc:
            logger.warning("Could not purge desk sessions: %s", exc)
        await asyncio.sleep(PURGE_EVERY_SECONDS)  # the pace of the background loop


async def start_background(app: Sanic, _loop: object) -> None:
    """Listener ``after_server_start``: starts the loops."""
    desk: DeskContext = app.ctx.desk
    desk.tasks = [
        asyncio.ensure_future(redeliver_forever(desk)),
        asyncio.ensure_future(purge_forever(desk)),
    ]


async def stop_background(app: Sanic, _loop: object) -> None:
    """Listener ``before_server_stop``: stops the loops, closes Rasa's client and the queue."""
    desk: DeskContext = app.ctx.desk
    for task in desk.tasks:
        task.cancel()
    for task in desk.tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await desk.rasa.close()
    desk.queue.close()


def register(app: Sanic) -> None:
    """Runs the loops while the server runs."""
    app.register_listener(start_background, "after_server_start")
    app.register_listener(stop_background, "before_server_stop")

"""A Sanic app with two workers whose "models" load at different speeds.

    python -m tests.support.sanic_workers_app PORT {balanced|sanic} [crash]

Each response says which worker (PID) answered and how many workers had loaded by then.
The second worker to start loading takes a second longer, as a slower model load would:
under Sanic's own ``serve_multiple`` the first one is then already taking connections.
With ``crash`` the second worker's load fails instead.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys

from sanic import Sanic
from sanic.response import json

from frontline.runtime.patches.sanic_workers import PATCH

# Created before Sanic forks its workers, so all of them share these counters.
STARTED = multiprocessing.get_context("fork").Value("i", 0)
LOADED = multiprocessing.get_context("fork").Value("i", 0)

app = Sanic("workers_probe")
CRASH = "crash" in sys.argv[3:]


class ModelLoadFailed(RuntimeError):
    """The second worker's "model" failed to load (``crash`` mode)."""


@app.listener("before_server_start")
async def load_model(_app: Sanic, _loop: asyncio.AbstractEventLoop) -> None:
    with STARTED.get_lock():
        STARTED.value += 1
        order = STARTED.value
    await asyncio.sleep(1.0 * (order - 1))  # the later workers' model loads are slower
    if CRASH and order == 2:
        raise ModelLoadFailed("worker 2 could not load its model")
    with LOADED.get_lock():
        LOADED.value += 1


@app.get("/")
async def whoami(_request):
    return json({"pid": os.getpid(), "loaded": LOADED.value})


def main() -> None:
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "balanced":
        PATCH.apply()
    app.run(host="127.0.0.1", port=port, workers=2, access_log=False)


if __name__ == "__main__":
    main()

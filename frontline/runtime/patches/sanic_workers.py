"""Several Sanic workers that share the load, not just the port (``SANIC_WORKERS`` > 1).

Why a patch: Sanic 21.12 (Rasa 3.6's) starts its workers on one listening socket bound
by the main process, and each worker takes connections from it as soon as *it* has
loaded its model. Two things then send every customer to the same worker:

* the first worker to finish loading (seconds before the others) drains the whole accept
  queue, and keep-alive connections (a web chat, a proxy's upstream pool, a load
  generator) stay wherever they were accepted;
* afterwards an idle worker's event loop accepts every queued connection in one go.

Measured under ``make bench-scale`` (closed loop, 50 conversations): with two workers one
process did all the work and the other none, so two workers gave 1.05x one. Rasa starts
Sanic itself (``app.run(workers=...)``) and neither offers a hook for how workers get
their sockets, so :func:`serve_workers_on_own_sockets` replaces Sanic's
``serve_multiple`` (which ``sanic.app`` looks up when it runs): each worker binds
its own ``SO_REUSEPORT`` socket, so the kernel spreads new connections over the workers,
and none binds before every worker has loaded its model (a barrier after the startup
listeners), so the first to finish does not take every early connection. A slow worker
does not hold the others back for longer than ``FRONTLINE_WORKER_START_TIMEOUT`` seconds
(default 600).

A worker that dies (it crashed while loading, or was killed later) stops the others and
the server exits with status 1, so its supervisor (Kubernetes, systemd) restarts it.
Sanic's own ``serve_multiple`` would go on with fewer workers, unnoticed, or here leave
the others waiting at the barrier.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable
from signal import SIG_DFL, SIGINT, SIGTERM
from signal import signal as signal_func
from typing import Any

from frontline.runtime.patch import Patch

logger = logging.getLogger(__name__)

START_TIMEOUT_ENV = "FRONTLINE_WORKER_START_TIMEOUT"
DEFAULT_START_TIMEOUT_S = 600.0


def start_timeout() -> float:
    """Seconds a loaded worker waits for the others before serving anyway."""
    return float(os.environ.get(START_TIMEOUT_ENV, DEFAULT_START_TIMEOUT_S))


def wait_for_all_workers(barrier: Any, timeout: float) -> Callable[..., Any]:
    """A ``before_server_start`` listener that returns once every worker has reached it."""

    async def all_workers_loaded(app: Any, loop: asyncio.AbstractEventLoop) -> None:
        try:
            await loop.run_in_executor(None, barrier.wait, timeout)
        except threading.BrokenBarrierError:
            # A worker died while loading or is far slower: serve rather than wait forever.
            logger.warning(
                "Not every Sanic worker was ready after %.0f s; worker %d serves anyway.",
                timeout,
                os.getpid(),
            )
        else:
            logger.info("Worker %d: all workers loaded, accepting connections.", os.getpid())

    return all_workers_loaded


def serve_workers_on_own_sockets(server_settings: dict[str, Any], workers: int) -> None:
    """Sanic's ``serve_multiple`` with a socket per worker, opened once all have loaded.

    Unix sockets and sockets handed in by the caller keep Sanic's own behaviour.
    """
    from sanic.server import runners

    if server_settings.get("sock") is not None or server_settings.get("unix"):
        runners.serve_multiple(server_settings, workers)
        return
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers)
    # Registered after Rasa's own startup listener (which loads the model): runs after it.
    server_settings["app"].register_listener(
        wait_for_all_workers(barrier, start_timeout()), "before_server_start"
    )
    # Each worker's loop.create_server binds host:port itself with SO_REUSEPORT.
    server_settings["reuse_port"] = True
    server_settings["run_multiple"] = True
    main_start = server_settings.pop("main_start", None)
    main_stop = server_settings.pop("main_stop", None)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    runners.trigger_events(main_start, loop)

    processes: list[Any] = []

    def forward_signal(signal_number: int, _frame: Any) -> None:
        logger.info("Received signal %d. Shutting down the workers.", signal_number)
        for process in processes:
            if process.is_alive():
                process.terminate()

    signal_func(SIGINT, forward_signal)
    signal_func(SIGTERM, forward_signal)
    for _ in range(workers):
        process = context.Process(target=serve_worker, kwargs=server_settings)
        process.daemon = True
        process.start()
        processes.append(process)
    failed = wait_for_workers(processes)
    runners.trigger_events(main_stop, loop)
    loop.close()
    if failed is not None:
        raise SystemExit(1)


def serve_worker(**server_settings: Any) -> None:
    """One worker: Sanic's ``serve`` with the default signal handling until it takes over.

    A forked worker inherits the main process's handlers, which forward signals to the
    workers; while a worker loads its model (before Sanic installs its own handlers)
    SIGTERM must simply end it.
    """
    from sanic.server import runners

    signal_func(SIGINT, SIG_DFL)
    signal_func(SIGTERM, SIG_DFL)
    runners.serve(**server_settings)


def wait_for_workers(processes: list[Any]) -> Any | None:
    """Waits for every worker to exit; stops the others as soon as one fails.

    Returns:
        The first worker that exited with a non-zero status, or None.
    """
    running = {process.sentinel: process for process in processes}
    failed = None
    while running:
        for sentinel in multiprocessing.connection.wait(list(running)):
            process = running.pop(sentinel)
            process.join()
            if process.exitcode != 0 and failed is None:
                failed = process
                logger.error(
                    "Sanic worker %d exited with status %s; stopping the other workers.",
                    process.pid,
                    process.exitcode,
                )
                for other in running.values():
                    other.terminate()
    return failed


PATCH = Patch(
    name="sanic_workers",
    reason=__doc__,
    guarded_by={
        "tests/runtime/test_sanic_workers.py": (
            "test_no_worker_accepts_a_connection_before_every_worker_has_loaded",
            "test_new_connections_are_spread_over_both_workers",
            "test_keep_alive_connections_opened_at_start_are_spread_too",
            "test_a_worker_that_dies_while_loading_stops_the_server_with_an_error",
        ),
        # Rasa with two workers keeps every conversation whole and in order.
        "tests/scale/test_scale_out.py": (
            "test_turns_alternating_between_processes_stay_in_order",
            "test_concurrent_turns_of_one_conversation_are_serialised",
        ),
    },
    versions={"sanic": "21.12.2", "rasa": "3.6.21"},
    replacements={"sanic.app:serve_multiple": serve_workers_on_own_sockets},
)

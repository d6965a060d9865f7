"""The Sanic application: wiring of configuration, database, fault switch and routes."""

from __future__ import annotations

import itertools
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import BaseHTTPResponse, HTTPResponse

from sandbox.api import blueprints
from sandbox.config import SandboxConfig
from sandbox.db import get_database
from sandbox.errors import ApiError
from sandbox.faults import FaultSwitch
from sandbox.web import error_response, json_response

logger = logging.getLogger(__name__)

_app_numbers = itertools.count(1)

#: Error codes of the HTTP errors Sanic raises itself.
_SANIC_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    416: "range_not_satisfiable",
    417: "expectation_failed",
    503: "service_unavailable",
}


def create_app(database_url: str | None = None, *, config: SandboxConfig | None = None) -> Sanic:
    """Creates a sandbox app; nothing connects to the database until a request needs it.

    Tables are neither created nor seeded here: ``python -m sandbox`` does that, and
    tests may call :func:`sandbox.seed.seed_if_empty` / :func:`sandbox.seed.reset`.

    Args:
        database_url: SQLAlchemy URL; overrides ``config`` and ``SANDBOX_DATABASE_URL``.
        config: Settings; read from the environment when omitted.

    Returns:
        A new app with a unique name (several can live in one process).
    """
    config = config or SandboxConfig.from_env()
    if database_url:
        config = replace(config, database_url=database_url)
    app = Sanic(f"frontline_sandbox_{os.getpid()}_{next(_app_numbers)}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = config.request_max_size
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.MOTD = False

    app.ctx.config = config
    app.ctx.db = get_database(config.database_url, pool_size=config.db_threads)
    app.ctx.faults = FaultSwitch(config.fault_seed)
    app.ctx.executor = None

    async def start_executor(app: Sanic, _loop: object) -> None:
        app.ctx.executor = ThreadPoolExecutor(
            max_workers=config.db_threads, thread_name_prefix="sandbox-db"
        )

    async def stop_executor(app: Sanic, _loop: object) -> None:
        executor, app.ctx.executor = app.ctx.executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        app.ctx.db.dispose()

    app.register_listener(start_executor, "before_server_start")
    app.register_listener(stop_executor, "after_server_stop")

    async def inject_faults(request: Request) -> HTTPResponse | None:
        fault = app.ctx.faults.take(request.path)
        request.ctx.fault = fault
        error = None if fault is None else await app.ctx.faults.apply_config(fault)
        return None if error is None else error_response(error)

    async def delay_answers(request: Request, response: BaseHTTPResponse) -> None:
        # After the handler: the change is committed, the answer leaves late.
        await app.ctx.faults.apply_after(getattr(request.ctx, "fault", None))

    app.register_middleware(inject_faults, "request")
    app.register_middleware(delay_answers, "response")

    async def health(request: Request) -> HTTPResponse:
        return json_response({"status": "ok"})

    app.add_route(health, "/health", methods=["GET"])
    for bp in blueprints():
        app.blueprint(bp)

    app.error_handler.add(ApiError, _api_error)
    app.error_handler.add(SanicException, _sanic_error)
    app.error_handler.add(Exception, _unexpected_error)
    return app


def _api_error(request: Request, exception: ApiError) -> HTTPResponse:
    return error_response(exception)


def _sanic_error(request: Request, exception: SanicException) -> HTTPResponse:
    status = getattr(exception, "status_code", 500) or 500
    code = _SANIC_ERROR_CODES.get(status, "internal_error" if status >= 500 else "http_error")
    messages = {
        404: f"No route for {request.method} {request.path}.",
        405: f"Method {request.method} is not allowed on {request.path}.",
        413: f"The request body is larger than {request.app.config.REQUEST_MAX_SIZE} bytes.",
    }
    message = messages.get(status) or str(exception) or code
    response = error_response(ApiError(status, code, message))
    if status == 405:
        allowed = getattr(exception, "headers", {}) or {}
        if "Allow" in allowed:
            response.headers["Allow"] = allowed["Allow"]
    return response


def _unexpected_error(request: Request, exception: Exception) -> HTTPResponse:
    logger.error("unexpected error on %s %s", request.method, request.path, exc_info=exception)
    return error_response(ApiError(500, "internal_error", "The sandbox hit an unexpected error."))

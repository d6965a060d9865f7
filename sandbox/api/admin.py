"""Admin routes for tests: the fault switch and a data reset.

When ``SANDBOX_ADMIN_TOKEN`` is set, every admin route requires header
``X-Sandbox-Admin-Token`` with that value; otherwise they are open (local sandbox).
"""

from __future__ import annotations

import hmac
import logging

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from sandbox import seed
from sandbox.errors import ApiError
from sandbox.faults import FaultConfig
from sandbox.web import error_response, in_thread, json_object, json_response

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Sandbox-Admin-Token"


async def require_token(request: Request) -> HTTPResponse | None:
    """Blueprint middleware: 401 ``unauthorized`` without the right token."""
    expected: str | None = request.app.ctx.config.admin_token
    if expected is None:
        return None
    given = request.headers.get(TOKEN_HEADER, "")
    if hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        return None
    return error_response(
        ApiError(401, "unauthorized", f"Admin routes need a valid {TOKEN_HEADER} header.")
    )


async def get_faults(request: Request) -> HTTPResponse:
    """``GET /admin/faults``: the current fault configuration."""
    return json_response(request.app.ctx.faults.config.as_dict())


async def put_faults(request: Request) -> HTTPResponse:
    """``PUT /admin/faults``: replaces the fault configuration."""
    config, fault_seed = FaultConfig.from_payload(json_object(request))
    request.app.ctx.faults.set(config, fault_seed)
    return json_response(config.as_dict())


async def delete_faults(request: Request) -> HTTPResponse:
    """``DELETE /admin/faults``: turns every fault off."""
    request.app.ctx.faults.clear()
    return json_response(request.app.ctx.faults.config.as_dict())


async def reset(request: Request) -> HTTPResponse:
    """``POST /admin/reset``: drops every table and seeds the demo data again."""
    summary = await in_thread(request, seed.reset, request.app.ctx.db)
    logger.warning("sandbox data reset through the admin API")
    return json_response({"status": "reset", **summary.as_dict()})


def blueprint() -> Blueprint:
    """The admin routes."""
    bp = Blueprint("admin", url_prefix="/admin")
    bp.middleware(require_token, "request")
    bp.add_route(get_faults, "/faults", methods=["GET"])
    bp.add_route(put_faults, "/faults", methods=["PUT"])
    bp.add_route(delete_faults, "/faults", methods=["DELETE"])
    bp.add_route(reset, "/reset", methods=["POST"])
    return bp

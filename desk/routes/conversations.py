"""One handed-off conversation: read it, take it, answer the customer, close it.

* ``GET /api/entries/<id>``: the packet, the live transcript and the timings.
* ``POST /api/entries/<id>/claim | release | reassign | reply | resolve | hand-back``.

Who may do what is the transition table's (:mod:`frontline.handoff.transitions`), which
:class:`~frontline.handoff.desk.DeskService` and the queue apply.
"""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from desk.api import (
    ApiError,
    check_id,
    entry_response,
    json_api,
    json_body,
    json_response,
    require_supervisor,
)
from desk.context import desk_of
from frontline.handoff.base import run_blocking

ENTRY_PATH = "/api/entries/<entry_id:str>"


async def show(request: Request, entry_id: str) -> HTTPResponse:
    """The entry in full, with the live transcript."""
    service = desk_of(request).service
    return json_response(await service.entry_view(request.ctx.actor, check_id(entry_id)))


async def claim(request: Request, entry_id: str) -> HTTPResponse:
    """The agent takes the conversation (for one lease)."""
    entry = await desk_of(request).service.claim(request.ctx.actor, check_id(entry_id))
    return entry_response(entry)


async def release(request: Request, entry_id: str) -> HTTPResponse:
    """The agent puts the conversation back on the queue."""
    entry = await desk_of(request).service.release(request.ctx.actor, check_id(entry_id))
    return entry_response(entry)


async def reassign(request: Request, entry_id: str) -> HTTPResponse:
    """A supervisor gives the conversation to ``{"agent"}``."""
    require_supervisor(request)
    desk = desk_of(request)
    target = json_body(request).get("agent")
    agent = await run_blocking(desk.store.get_agent, target) if isinstance(target, str) else None
    if agent is None or not agent.active:
        raise ApiError(400, "unknown_agent", "Reassign to an active agent of the desk.")
    entry = await desk.service.reassign(request.ctx.actor, check_id(entry_id), agent.name)
    return entry_response(entry)


async def reply(request: Request, entry_id: str) -> HTTPResponse:
    """Sends ``{"text"}`` to the customer."""
    event = await desk_of(request).service.reply(
        request.ctx.actor, check_id(entry_id), json_body(request).get("text")
    )
    return json_response({"sent": {"text": event["text"], "timestamp": event["timestamp"]}})


async def finish(request: Request, entry_id: str, *, hand_back: bool) -> HTTPResponse:
    """Resolves with ``{"resolution_code"}`` and gives the conversation back."""
    body = json_body(request, required=False)
    code = body.get("resolution_code") or ("handed_back" if hand_back else None)
    if not isinstance(code, str):
        raise ApiError(400, "invalid_request", "Choose a resolution code.")
    entry = await desk_of(request).service.resolve(
        request.ctx.actor, check_id(entry_id), code, hand_back=hand_back
    )
    return entry_response(entry)


async def resolve(request: Request, entry_id: str) -> HTTPResponse:
    """Resolves; the assistant answers the customer's next message."""
    return await finish(request, entry_id, hand_back=False)


async def hand_back(request: Request, entry_id: str) -> HTTPResponse:
    """Resolves and tells the customer they are back with the assistant."""
    return await finish(request, entry_id, hand_back=True)


def register(app: Sanic) -> None:
    """``/api/entries/<id>`` and its actions."""
    app.add_route(json_api(show), ENTRY_PATH, methods=["GET"])
    for handler, action in (
        (claim, "claim"),
        (release, "release"),
        (reassign, "reassign"),
        (reply, "reply"),
        (resolve, "resolve"),
        (hand_back, "hand-back"),
    ):
        app.add_route(json_api(handler), f"{ENTRY_PATH}/{action}", methods=["POST"], name=action)

"""The review inbox, for reviewers and supervisors, and agents' flags on the assistant's turns.

* ``GET /api/review/inbox``: groups of messages to review, highest impact first, masked.
* ``POST /api/review/labels`` ``{"keys", "decision", "intent"?}``: confirm or correct the
  intent of a group (or one message), mark it out of scope, or propose a new intent.
* ``POST /api/review/verdicts`` ``{"conversation_id", "verdict", "note"?}``.
* ``GET /api/review/reasons``: why a turn may be flagged (every signed-in person).
* ``POST /api/entries/<id>/flag`` ``{"timestamp", "reason", "note"?}``: an agent who may
  see the conversation flags one of the assistant's turns in it.

Reviewers use only these (and sign-in); they never see the queue. The work is
:class:`frontline.review.service.ReviewService`'s, built on first use.
"""

from __future__ import annotations

from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from desk.api import ApiError, check_id, error_response, json_api, json_body, json_response
from desk.context import desk_of
from frontline.handoff.base import run_blocking
from frontline.handoff.transitions import REVIEWER, SUPERVISOR
from frontline.review.service import ReviewService, create_from_settings
from frontline.review.sources import SourceError, epoch
from frontline.review.store import ReviewStoreError

#: What a reviewer may call besides the review inbox.
REVIEWER_PATHS = ("/api/session", "/api/me", "/api/review/")


def review_of(request: Request) -> ReviewService:
    """The app's review service (made on first use)."""
    if request.app.ctx.review is None:
        request.app.ctx.review = create_from_settings(desk_of(request).settings)
    service: ReviewService = request.app.ctx.review
    return service


async def reviewers_only_review(request: Request) -> HTTPResponse | None:
    """Request middleware: a reviewer's session reaches the review inbox, nothing else."""
    agent = getattr(request.ctx, "agent", None)
    if agent is None or agent.role != REVIEWER or not request.path.startswith("/api/"):
        return None
    if any(request.path == p or (p.endswith("/") and request.path.startswith(p))
           for p in REVIEWER_PATHS):  # fmt: skip
        return None
    return error_response(ApiError(403, "forbidden", "Reviewers use the review inbox only."))


def require_reviewer(request: Request) -> str:
    """The reviewer's name; a 403 unless a reviewer or a supervisor signed in."""
    if request.ctx.agent.role not in (REVIEWER, SUPERVISOR):
        raise ApiError(403, "forbidden", "Only reviewers and supervisors review messages.")
    name: str = request.ctx.agent.name
    return name


async def _call(work: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await run_blocking(work, *args, **kwargs)
    except (SourceError, ReviewStoreError) as exc:
        raise ApiError(503, "review_unavailable", "The review data cannot be read now.") from exc


async def inbox(request: Request) -> HTTPResponse:
    """The groups to review, with what a reviewer may answer."""
    require_reviewer(request)
    return json_response(await _call(review_of(request).inbox))


async def labels(request: Request) -> HTTPResponse:
    """Labels the messages ``keys`` with a decision (and an intent)."""
    reviewer = require_reviewer(request)
    body = json_body(request)
    keys, decision, intent = body.get("keys"), body.get("decision"), body.get("intent")
    if not isinstance(decision, str) or (intent is not None and not isinstance(intent, str)):
        raise ApiError(400, "invalid_request", "Give a decision (and an intent, as text).")
    service = review_of(request)
    return json_response(await _call(service.label, reviewer, keys, decision, intent))


async def verdicts(request: Request) -> HTTPResponse:
    """Records a verdict on a whole conversation."""
    reviewer = require_reviewer(request)
    body = json_body(request)
    conversation_id, verdict = body.get("conversation_id"), body.get("verdict")
    if not isinstance(conversation_id, str) or not isinstance(verdict, str):
        raise ApiError(400, "invalid_request", "Give a conversation_id and a verdict.")
    service = review_of(request)
    result = await _call(service.verdict, reviewer, conversation_id, verdict, body.get("note"))
    return json_response(result)


async def reasons(request: Request) -> HTTPResponse:
    """Why an agent may flag one of the assistant's turns."""
    return json_response({"flag_reasons": dict(review_of(request).policy.flag_reasons)})


async def flag(request: Request, entry_id: str) -> HTTPResponse:
    """Flags the assistant's turn at ``timestamp`` in the entry's conversation."""
    body = json_body(request)
    timestamp, reason = body.get("timestamp"), body.get("reason")
    if not isinstance(timestamp, str) or not isinstance(reason, str):
        raise ApiError(400, "invalid_request", "Give the turn's timestamp and a reason.")
    desk = desk_of(request)
    view = await desk.service.entry_view(request.ctx.actor, check_id(entry_id))
    turn = next(
        (t for t in view.get("transcript") or []
         if t.get("speaker") == "assistant" and t.get("timestamp") == timestamp),
        None,
    )  # fmt: skip
    turn_at = epoch(timestamp)
    if turn is None or turn_at is None:
        raise ApiError(400, "unknown_turn", "No message of the assistant at that time here.")
    result = await _call(
        review_of(request).flag,
        request.ctx.agent.name,
        view["conversation_id"],
        turn_at,
        turn.get("text") or "",
        reason,
        body.get("note"),
        entry_id,
    )
    return json_response(result)


def register(app: Sanic) -> None:
    """The review routes and the reviewers' middleware."""
    app.ctx.review = None
    app.register_middleware(reviewers_only_review, "request")
    app.add_route(json_api(inbox), "/api/review/inbox", methods=["GET"])
    app.add_route(json_api(labels), "/api/review/labels", methods=["POST"])
    app.add_route(json_api(verdicts), "/api/review/verdicts", methods=["POST"])
    app.add_route(json_api(reasons), "/api/review/reasons", methods=["GET"])
    app.add_route(json_api(flag), "/api/entries/<entry_id:str>/flag", methods=["POST"])

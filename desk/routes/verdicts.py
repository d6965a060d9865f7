"""A person's verdict on a resolved escalation: "the assistant could have handled this".

* ``GET /api/entries/<id>/verdict``: the contact (outcome record) of the entry, its
  verdict so far, and whether the signed-in agent may give one.
* ``POST /api/entries/<id>/verdict`` with ``{"could_have_handled": true|false,
  "note"?}``: records it (:meth:`OutcomeStore.mark_could_have_handled`); it feeds the
  "escalations a person marked" metric (``docs/metrics.md``).

The agent who resolved the entry, or a supervisor, may judge it once it is resolved;
a later verdict replaces the earlier one (the record keeps who and when).
"""

from __future__ import annotations

import time
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from desk.api import ApiError, check_id, json_api, json_body, json_response
from desk.context import desk_of
from desk.routes.insights import outcome_store
from frontline.handoff.base import RESOLVED, QueueEntry, run_blocking
from frontline.handoff.desk import Actor
from frontline.outcomes.model import OutcomeRecord
from frontline.outcomes.sql_store import MAX_NOTE_LENGTH, SqlOutcomeStore
from frontline.outcomes.store import OutcomeStoreError

#: Queue entries enqueued this long before a contact's start still belong to it.
CLOCK_SLACK_SECONDS = 5.0


def contact_of_entry(store: SqlOutcomeStore, entry: QueueEntry) -> OutcomeRecord | None:
    """The contact a queue entry escalated: the one that names it, else the latest
    handed-off contact that started before it was enqueued."""
    records = store.for_conversation(entry.conversation_id)
    for record in records:
        if record["handoff_entry_id"] == entry.entry_id:
            return record
    enqueued = entry.enqueued_at.timestamp() + CLOCK_SLACK_SECONDS
    earlier = [r for r in records if r["escalated_at"] is not None and r.started_at <= enqueued]
    return earlier[-1] if earlier else None


def may_judge(actor: Actor, entry: QueueEntry) -> bool:
    """A resolved entry, judged by the agent who had it or by a supervisor."""
    return entry.status == RESOLVED and (actor.is_supervisor or entry.claimed_by == actor.agent_id)


def _verdict(record: OutcomeRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "contact_id": record.contact_id,
        "outcome": record.outcome,
        "escalation_reason": record.escalation_reason,
        "could_have_handled": record.could_have_handled,
        "by": record["could_have_handled_by"],
        "at": record["could_have_handled_at"],
        "note": record["could_have_handled_note"],
    }


async def _entry_and_contact(
    request: Request, entry_id: str
) -> tuple[QueueEntry, OutcomeRecord | None]:
    entry = await run_blocking(desk_of(request).queue.get, check_id(entry_id))
    actor: Actor = request.ctx.actor
    if entry is None or not (
        actor.is_supervisor or entry.claimed_by == actor.agent_id or entry.status != RESOLVED
    ):
        raise ApiError(404, "not_found", "No such conversation on the queue.")
    try:
        record = await run_blocking(contact_of_entry, outcome_store(request), entry)
    except OutcomeStoreError as exc:
        raise ApiError(503, "outcomes_unavailable", "The outcome records are unavailable.") from exc
    return entry, record


async def show(request: Request, entry_id: str) -> HTTPResponse:
    """The entry's contact and its verdict so far."""
    entry, record = await _entry_and_contact(request, entry_id)
    can = may_judge(request.ctx.actor, entry) and record is not None
    return json_response({"verdict": _verdict(record), "can_judge": can})


async def judge(request: Request, entry_id: str) -> HTTPResponse:
    """Records ``{"could_have_handled", "note"?}`` on the entry's contact."""
    body = json_body(request)
    could_have = body.get("could_have_handled")
    note = body.get("note")
    if not isinstance(could_have, bool):
        raise ApiError(400, "invalid_request", "Say true or false in could_have_handled.")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE_LENGTH):
        raise ApiError(400, "invalid_request", f"The note is text of {MAX_NOTE_LENGTH} at most.")
    entry, record = await _entry_and_contact(request, entry_id)
    actor: Actor = request.ctx.actor
    if entry.status != RESOLVED:
        raise ApiError(409, "not_resolved", "Resolve the conversation first.")
    if not may_judge(actor, entry):
        raise ApiError(403, "forbidden", "Only the agent who resolved it or a supervisor can.")
    if record is None:
        raise ApiError(409, "no_outcome_yet", "Its outcome record is not written yet; try again.")
    store = outcome_store(request)
    try:
        marked = await run_blocking(
            lambda: store.mark_could_have_handled(
                record.contact_id, actor.agent_id, could_have, (note or "").strip(), time.time()
            )
        )
    except OutcomeStoreError as exc:
        raise ApiError(503, "outcomes_unavailable", "The outcome records are unavailable.") from exc
    return json_response({"verdict": _verdict(marked), "can_judge": True})


def register(app: Sanic) -> None:
    """``/api/entries/<id>/verdict`` (after :mod:`desk.routes.insights`, whose store it
    shares)."""
    path = "/api/entries/<entry_id:str>/verdict"
    app.add_route(json_api(show), path, methods=["GET"], name="verdict_show")
    app.add_route(json_api(judge), path, methods=["POST"], name="verdict_judge")

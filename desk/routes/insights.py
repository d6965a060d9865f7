"""The Insights view's API, for supervisors: the metrics of a date range and segment, the
contacts behind a number, and one contact with its transcript.

* ``GET /api/insights?since=YYYY-MM-DD&until=YYYY-MM-DD&channel=&tier=&interaction_type=
  &model_id=&policy_version=``: every metric of :func:`frontline.metrics.summary.
  compute_metrics` (outcomes per day, impact matrix and scores, escalation reasons, SLO
  state, cost and savings with their interval, ...), the SLO breaches of the range and
  the values each segment filter offers. ``until`` is inclusive (its whole day); both
  default to the last seven days, UTC.
* ``GET /api/insights/contacts?...&outcome=&escalation_reason=&could_have_handled=
  &is_repeat=&offset=``: the drill-down, the contacts behind a number (same range and
  segment filters, plus the number's own), newest first.
* ``GET /api/insights/contacts/<contact_id>``: one outcome record and its session's
  transcript (from Rasa), with the handoff entry to open in the desk, if any.

Only supervisors: an agent gets 403 on each. Every figure comes from
:mod:`frontline.metrics`; this module only parses requests and shapes answers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from desk.api import ApiError, json_api, json_response, require_supervisor
from desk.context import desk_of
from frontline.errors import BackendError
from frontline.handoff.base import run_blocking
from frontline.handoff.desk_views import transcript
from frontline.metrics.aggregate import DIMENSIONS, segment_values
from frontline.metrics.summary import compute_metrics
from frontline.outcomes.model import OUTCOMES
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.store import OutcomeStoreError

DAY = 86_400.0
DEFAULT_DAYS = 7
MAX_DAYS = 366
PAGE_SIZE = 50
MAX_VALUE_LENGTH = 255
#: Contacts' events this long outside their session still belong to its transcript.
SLACK_SECONDS = 5.0
#: Filters of the drill-down besides the segment's: text columns and yes/no columns.
DRILL_TEXT = ("outcome", "escalation_reason")
DRILL_FLAGS = ("could_have_handled", "is_repeat", "reopened", "followed_by_repeat")
#: What a row of the drill-down list shows.
LIST_COLUMNS = (
    "contact_id",
    "conversation_id",
    "started_at",
    "channel",
    "tier",
    "interaction_type",
    "outcome",
    "escalation_reason",
    "csat_score",
    "turns",
    "handoff_entry_id",
    "could_have_handled",
    "is_repeat",
)


def outcome_store(request: Request) -> SqlOutcomeStore:
    """The outcome records of the desk's database (made once per app)."""
    store: SqlOutcomeStore = request.app.ctx.insights_store
    return store


def _day(value: str, name: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(400, "invalid_date", f"{name} must be a date, YYYY-MM-DD.") from exc
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def date_range(args: Mapping[str, Any], now: float) -> tuple[float, float]:
    """``[since, until)`` in epoch seconds from ``since``/``until`` (inclusive days).

    Raises:
        ApiError: 400 for a malformed date, an empty range or one over a year.
    """
    today = datetime.fromtimestamp(now, timezone.utc).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    until_text, since_text = args.get("until"), args.get("since")
    until = (_day(until_text, "until") if until_text else today) + timedelta(days=1)
    since = _day(since_text, "since") if since_text else until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise ApiError(400, "invalid_range", "since must be on or before until.")
    if until - since > timedelta(days=MAX_DAYS):
        raise ApiError(400, "invalid_range", f"Choose at most {MAX_DAYS} days.")
    return since.timestamp(), until.timestamp()


def _text(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    value = str(value)
    if len(value) > MAX_VALUE_LENGTH:
        raise ApiError(400, "invalid_filter", f"{name} is too long.")
    return value


def segment_filter(args: Mapping[str, Any]) -> dict[str, str]:
    """The segment chosen: dimension -> value, for the dimensions given."""
    chosen = {name: _text(args, name) for name in DIMENSIONS}
    return {name: value for name, value in chosen.items() if value is not None}


def drill_filter(args: Mapping[str, Any]) -> dict[str, Any]:
    """The segment and the number's own filters (outcome, reason, yes/no marks).

    Raises:
        ApiError: 400 for an unknown outcome or a yes/no filter that is neither.
    """
    where: dict[str, Any] = segment_filter(args)
    for name in DRILL_TEXT:
        value = _text(args, name)
        if value is not None:
            where[name] = value
    if where.get("outcome") is not None and where["outcome"] not in OUTCOMES:
        raise ApiError(400, "invalid_filter", f"Unknown outcome {where['outcome']!r}.")
    for name in DRILL_FLAGS:
        value = _text(args, name)
        if value is None:
            continue
        if value not in ("true", "false"):
            raise ApiError(400, "invalid_filter", f"{name} must be true or false.")
        where[name] = value == "true"
    return where


def _offset(args: Mapping[str, Any]) -> int:
    value = args.get("offset") or "0"
    if not value.isdigit() or int(value) > 100_000:
        raise ApiError(400, "invalid_request", "offset must be a small non-negative number.")
    return int(value)


def _metrics(store: SqlOutcomeStore, since: float, until: float, where: dict) -> dict:
    now = time.time()
    result = compute_metrics(store, since, until, now=now, where=where).as_dict()
    result["breaches"] = store.slo_breaches(since=since)
    result["options"] = segment_values(store, since, until)
    result["filters"] = where
    return result


async def insights(request: Request) -> HTTPResponse:
    """Every metric of the range and segment (supervisors only)."""
    require_supervisor(request)
    since, until = date_range(request.args, time.time())
    where = segment_filter(request.args)
    try:
        body = await run_blocking(_metrics, outcome_store(request), since, until, where)
    except OutcomeStoreError as exc:
        raise ApiError(503, "outcomes_unavailable", "The outcome records are unavailable.") from exc
    return json_response(body)


async def contacts(request: Request) -> HTTPResponse:
    """The contacts behind a number, newest first (supervisors only)."""
    require_supervisor(request)
    since, until = date_range(request.args, time.time())
    where = drill_filter(request.args)
    offset = _offset(request.args)
    store = outcome_store(request)
    try:
        records = await run_blocking(
            lambda: store.search(
                since=since, until=until, where=where, limit=PAGE_SIZE + 1, offset=offset
            )
        )
    except OutcomeStoreError as exc:
        raise ApiError(503, "outcomes_unavailable", "The outcome records are unavailable.") from exc
    rows = [{name: record[name] for name in LIST_COLUMNS} for record in records[:PAGE_SIZE]]
    return json_response(
        {
            "contacts": rows,
            "filters": where,
            "since": since,
            "until": until,
            "offset": offset,
            "more": len(records) > PAGE_SIZE,
        }
    )


def session_events(tracker: Mapping[str, Any], start: float, end: float) -> dict[str, Any]:
    """The tracker with only the events of one contact (session)."""
    events = [
        event
        for event in tracker.get("events") or []
        if isinstance(event, Mapping)
        and isinstance(event.get("timestamp"), (int, float))
        and start - SLACK_SECONDS <= event["timestamp"] <= end + SLACK_SECONDS
    ]
    return {"events": events}


async def contact(request: Request, contact_id: str) -> HTTPResponse:
    """One contact's outcome record and its session's transcript (supervisors only)."""
    require_supervisor(request)
    if not contact_id or len(contact_id) > 64:
        raise ApiError(404, "not_found", "No such contact.")
    try:
        record = await run_blocking(outcome_store(request).get, contact_id)
    except OutcomeStoreError as exc:
        raise ApiError(503, "outcomes_unavailable", "The outcome records are unavailable.") from exc
    if record is None:
        raise ApiError(404, "not_found", "No such contact.")
    body: dict[str, Any] = {"contact": record.as_dict(), "entry_id": record["handoff_entry_id"]}
    try:
        tracker = await desk_of(request).rasa.tracker(record.conversation_id)
    except BackendError:
        body |= {"transcript": [], "transcript_source": "unavailable"}
    else:
        start = record.started_at
        end = record["last_event_at"] if "last_event_at" in record.values else None
        window = session_events(tracker, start, end if end is not None else time.time())
        body |= {"transcript": transcript(window), "transcript_source": "tracker"}
    return json_response(body)


def register(app: Sanic) -> None:
    """``/api/insights``, ``/api/insights/contacts`` and one contact."""
    app.ctx.insights_store = SqlOutcomeStore(app.ctx.desk.settings.database_url)
    app.add_route(json_api(insights), "/api/insights", methods=["GET"])
    app.add_route(json_api(contacts), "/api/insights/contacts", methods=["GET"])
    app.add_route(json_api(contact), "/api/insights/contacts/<contact_id:str>", methods=["GET"])

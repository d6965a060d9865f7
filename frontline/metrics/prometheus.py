"""Prometheus ``/metrics`` for the Rasa server, the action server and the desk.

Every value is read from the database (outcome records, SLO evaluations, the handoff
queue), not kept in process memory: any Sanic worker of any instance answers a scrape
with the same, complete numbers, and nothing is lost when a worker restarts
(``docs/decisions/outcome-records.md``). Each server exports its own families, so a
sum over jobs never counts one thing twice; several instances of one server export
the same values (aggregate them with ``max``, as the Grafana dashboard does). A
scrape reads the database at most once per ``cache_seconds`` per process.

* Rasa server (``role="rasa"``): contacts by outcome, channel, tier and type; CSAT
  answers; escalations by reason; SLO state, values, intervals and breaches; when the
  records last changed;
* action server (``role="actions"``): backend calls and failures, forms started and
  completed, by interaction type;
* desk (``role="desk"``): the queue now (pending, claimed, oldest wait); queue waits
  and person handling time of handed-off contacts; "the assistant could have handled
  this" verdicts.

With ``FRONTLINE_METRICS_TOKEN`` set, a scrape needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pluggy
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sanic import Request
from sanic.response import HTTPResponse

from frontline.errors import QueueError
from frontline.handoff.base import CLAIMED, PENDING, HandoffQueue, utcnow
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.store import OutcomeStoreError
from frontline.outcomes.tables import contact_outcomes as table
from frontline.outcomes.tables import slo_breaches

logger = logging.getLogger(__name__)

ROLES = ("rasa", "actions", "desk")
STATES = ("met", "at_risk", "breached", "no_data")
Families = list[Metric]


def _grouped(store: SqlOutcomeStore, columns: list[str], *aggregates: Any) -> list[Any]:
    keys = [sa.func.coalesce(table.c[c], "none").label(c) for c in columns]
    query = sa.select(*keys, *aggregates).group_by(*keys)
    with store.engine.connect() as connection:
        return list(connection.execute(query))


def rasa_families(store: SqlOutcomeStore) -> Families:
    """Contacts, CSAT, escalations, SLOs (the Rasa server's families)."""
    # Gauges: a contact moves from in_progress to its outcome, so a series can go down.
    contacts = GaugeMetricFamily(
        "frontline_contacts",
        "Contacts (conversation sessions) by current outcome, channel and tier.",
        labels=["outcome", "channel", "tier"],
    )
    for outcome, channel, tier, count in _grouped(
        store, ["outcome", "channel", "tier"], sa.func.count()
    ):
        contacts.add_metric([outcome, channel, tier], count)
    by_type = GaugeMetricFamily(
        "frontline_contacts_by_type",
        "Contacts by interaction type and outcome.",
        labels=["interaction_type", "outcome"],
    )
    for kind, outcome, count in _grouped(store, ["interaction_type", "outcome"], sa.func.count()):
        by_type.add_metric([kind, outcome], count)
    csat = CounterMetricFamily(
        "frontline_csat_responses",
        "CSAT answers by channel and score.",
        labels=["channel", "score"],
    )
    query = (
        sa.select(table.c.channel, table.c.csat_score, sa.func.count())
        .where(table.c.csat_score.is_not(None))
        .group_by(table.c.channel, table.c.csat_score)
    )
    escalations = CounterMetricFamily(
        "frontline_escalations",
        "Contacts handed to a person, by reason.",
        labels=["reason", "channel"],
    )
    reasons = (
        sa.select(
            sa.func.coalesce(table.c.escalation_reason, "unknown"), table.c.channel, sa.func.count()
        )
        .where(table.c.escalated_at.is_not(None))
        .group_by(sa.func.coalesce(table.c.escalation_reason, "unknown"), table.c.channel)
    )
    updated = GaugeMetricFamily(
        "frontline_outcomes_last_update_timestamp_seconds",
        "When an outcome record last changed (stale: the outcome writer is not running).",
    )
    breaches = CounterMetricFamily(
        "frontline_slo_breaches", "SLO breaches opened, by objective.", labels=["objective"]
    )
    with store.engine.connect() as connection:
        for channel, score, count in connection.execute(query):
            csat.add_metric([channel, str(score)], count)
        for reason, channel, count in connection.execute(reasons):
            escalations.add_metric([reason, channel], count)
        updated.add_metric(
            [], connection.execute(sa.select(sa.func.max(table.c.updated_at))).scalar() or 0
        )
        opened = sa.select(slo_breaches.c.objective_id, sa.func.count()).group_by(
            slo_breaches.c.objective_id
        )
        for objective, count in connection.execute(opened):
            breaches.add_metric([objective], count)
    return [contacts, by_type, csat, escalations, updated, breaches, *slo_families(store)]


def slo_families(store: SqlOutcomeStore) -> Families:
    """The latest evaluation of every objective and segment."""
    labels = ["objective", "segment", "metric"]
    state = GaugeMetricFamily(
        "frontline_slo_state", "1 for the SLO's current state.", labels=[*labels, "state"]
    )
    breached = GaugeMetricFamily(
        "frontline_slo_breached",
        "1 while the SLO is breached (its interval misses the target).",
        labels=labels,
    )
    gauges = {
        name: GaugeMetricFamily(f"frontline_slo_{name}", f"The SLO's {text}.", labels=labels)
        for name, text in (
            ("value", "point estimate"),
            ("lower", "interval's lower end"),
            ("upper", "interval's upper end"),
            ("target", "target"),
            ("sample", "sample size"),
        )
    }
    for evaluation in store.slo_status():
        key = [evaluation.objective_id, evaluation.segment, evaluation.metric]
        for name in STATES:
            state.add_metric([*key, name], 1.0 if evaluation.state == name else 0.0)
        breached.add_metric(key, 1.0 if evaluation.state == "breached" else 0.0)
        for name, family in gauges.items():
            value = getattr(evaluation, name)
            if value is not None:
                family.add_metric(key, float(value))
    return [state, breached, *gauges.values()]


def actions_families(store: SqlOutcomeStore) -> Families:
    """Backend calls and forms (the action server's families)."""
    names = {
        "backend_calls": "Backend calls made by actions",
        "backend_failures": "Backend calls that failed",
        "actions_started": "Forms (tasks) started",
        "actions_completed": "Forms (tasks) completed",
    }
    families = {
        name: CounterMetricFamily(
            f"frontline_{name}", f"{text}, by interaction type.", labels=["interaction_type"]
        )
        for name, text in names.items()
    }
    rows = _grouped(
        store, ["interaction_type"], *[sa.func.coalesce(sa.func.sum(table.c[n]), 0) for n in names]
    )
    for kind, *values in rows:
        for name, value in zip(names, values, strict=True):
            families[name].add_metric([kind], float(value))
    return list(families.values())


def desk_families(store: SqlOutcomeStore, queue: HandoffQueue | None) -> Families:
    """The queue now, waits, person handling time, verdicts (the desk's families)."""
    families: Families = []
    if queue is not None:
        entries = GaugeMetricFamily(
            "frontline_handoff_queue_entries",
            "Open handoffs by status.",
            labels=["status", "priority"],
        )
        oldest = GaugeMetricFamily(
            "frontline_handoff_oldest_wait_seconds",
            "How long the longest-waiting pending handoff has waited.",
        )
        try:
            open_entries = queue.open_entries(10_000)
        except QueueError as exc:
            logger.warning("Queue unreadable for /metrics: %s", exc)
        else:
            counts: dict[tuple[str, str], int] = {}
            for entry in open_entries:
                counts[(entry.status, entry.priority)] = (
                    counts.get((entry.status, entry.priority), 0) + 1
                )
            for status in (PENDING, CLAIMED):
                for priority in ("urgent", "high", "normal", "low"):
                    entries.add_metric([status, priority], counts.get((status, priority), 0))
            now = utcnow()
            waits = [e.waited_so_far(now) for e in open_entries if e.status == PENDING]
            oldest.add_metric([], max(waits, default=0.0))
            families += [entries, oldest]
    totals = {
        "queue_wait_seconds": (
            "queue_wait_seconds",
            "queue_waits",
            "Queue waits of handed-off contacts",
        ),
        "human_handle_seconds": (
            "human_handle_seconds",
            "human_handled_contacts",
            "Person handling time",
        ),
    }
    for column, (name, count_name, text) in totals.items():
        seconds = CounterMetricFamily(
            f"frontline_{name}", f"{text}: total seconds, by channel.", labels=["channel"]
        )
        count = CounterMetricFamily(
            f"frontline_{count_name}", f"{text}: contacts measured, by channel.", labels=["channel"]
        )
        rows = _grouped(
            store,
            ["channel"],
            sa.func.coalesce(sa.func.sum(table.c[column]), 0),
            sa.func.count(table.c[column]),
        )
        for channel, total, n in rows:
            seconds.add_metric([channel], float(total))
            count.add_metric([channel], float(n))
        families += [seconds, count]
    verdicts = CounterMetricFamily(
        "frontline_could_have_handled",
        "Escalations a person judged: could the assistant have handled it?",
        labels=["verdict"],
    )
    query = (
        sa.select(table.c.could_have_handled, sa.func.count())
        .where(table.c.could_have_handled.is_not(None))
        .group_by(table.c.could_have_handled)
    )
    with store.engine.connect() as connection:
        for verdict, n in connection.execute(query):
            verdicts.add_metric(["yes" if verdict else "no"], n)
    return [*families, verdicts]


class DatabaseCollector(Collector):
    """A Prometheus collector of one server's families, read from the database.

    Args:
        read: Builds the families (a database round trip).
        cache_seconds: Families are reused this long (several scrapes, one query).
    """

    def __init__(self, read: Callable[[], Families], cache_seconds: float = 15.0) -> None:
        self.read = read
        self.cache_seconds = cache_seconds
        self._cached: Families = []
        self._at = float("-inf")
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._at >= self.cache_seconds:
                try:
                    self._cached = self.read()
                except (OutcomeStoreError, sa.exc.SQLAlchemyError) as exc:
                    logger.error("Metrics unreadable from the database: %s", exc)
                    self._cached = []
                up = GaugeMetricFamily(
                    "frontline_metrics_database_up", "1 if the last read worked."
                )
                up.add_metric([], 1.0 if self._cached else 0.0)
                self._cached.append(up)
                self._at = time.monotonic()
            return iter(list(self._cached))


def registry_for(
    role: str,
    store: SqlOutcomeStore,
    *,
    queue: HandoffQueue | None = None,
    cache_seconds: float = 15.0,
) -> CollectorRegistry:
    """A registry with the families of ``role`` (``rasa``, ``actions`` or ``desk``)."""
    readers: dict[str, Callable[[], Families]] = {
        "rasa": lambda: rasa_families(store),
        "actions": lambda: actions_families(store),
        "desk": lambda: desk_families(store, queue),
    }
    if role not in readers:
        raise ValueError(f"unknown metrics role {role!r}; expected one of {', '.join(ROLES)}")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(readers[role], cache_seconds))
    return registry


def sanic_handler(registry: CollectorRegistry, token: str | None) -> Callable[[Request], Any]:
    """A Sanic handler answering ``GET /metrics`` (the read runs off the event loop)."""

    async def metrics(request: Request) -> HTTPResponse:
        if token:
            header = request.headers.get("authorization", "")
            given = header[7:].strip() if header.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(given.encode(), token.encode()):
                return HTTPResponse("unauthorized\n", status=401, content_type="text/plain")
        body = await asyncio.get_running_loop().run_in_executor(None, generate_latest, registry)
        return HTTPResponse(
            body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
        )

    return metrics


hookimpl = pluggy.HookimplMarker("rasa_sdk")


class ActionServerMetrics:
    """rasa-sdk plug-in adding ``GET /metrics`` to the action server (its documented
    ``attach_sanic_app_extensions`` hook)."""

    def __init__(self, registry: CollectorRegistry, token: str | None) -> None:
        self.handler = sanic_handler(registry, token)

    @hookimpl
    def attach_sanic_app_extensions(self, app: Any) -> None:
        app.add_route(self.handler, "/metrics", methods=["GET"], name="frontline_metrics")


def families_text(families: Iterable[Metric]) -> str:
    """The families in the text exposition format (tests, the report)."""
    registry = CollectorRegistry(auto_describe=False)
    fixed = list(families)

    class _Fixed(Collector):
        def collect(self) -> Iterator[Metric]:
            return iter(fixed)

    registry.register(_Fixed())
    return generate_latest(registry).decode()

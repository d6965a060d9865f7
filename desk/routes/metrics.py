"""Prometheus metrics of the queue and of the people's side: ``GET /metrics``.

No session: a scraper reads it, with ``FRONTLINE_METRICS_TOKEN`` as a bearer token when
that is set (:mod:`frontline.metrics.prometheus`).
"""

from __future__ import annotations

from sanic import Sanic

from desk.context import DeskContext
from frontline.metrics.prometheus import registry_for, sanic_handler
from frontline.outcomes.sql_store import SqlOutcomeStore


def register(app: Sanic) -> None:
    """``/metrics``, read from the outcome records and the queue."""
    desk: DeskContext = app.ctx.desk
    registry = registry_for("desk", SqlOutcomeStore(desk.settings.database_url), queue=desk.queue)
    app.add_route(sanic_handler(registry, desk.settings.metrics_token), "/metrics", methods=["GET"])

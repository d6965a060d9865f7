"""``GET /metrics`` on the Rasa server, through Rasa's documented seam: an input channel.

``credentials.yml``::

    frontline.metrics.channel.MetricsInput:

Rasa mounts each channel's blueprint under ``/webhooks/<url_prefix>``; this channel's
prefix is ``/``, so its one route is ``/metrics``. It never receives a message. The
values come from the database (:mod:`frontline.metrics.prometheus`), so whichever Sanic
worker answers, the numbers are the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint

from frontline.metrics.prometheus import registry_for, sanic_handler
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.settings import get_settings


class MetricsInput(InputChannel):
    """Serves Prometheus metrics; takes no messages."""

    def __init__(self, cache_seconds: float = 15.0) -> None:
        self.cache_seconds = cache_seconds

    @classmethod
    def name(cls) -> str:
        return "frontline_metrics"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> MetricsInput:
        return cls(float((credentials or {}).get("cache_seconds", 15.0)))

    def url_prefix(self) -> str:
        return "/"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        settings = get_settings()
        registry = registry_for(
            "rasa", SqlOutcomeStore(settings.database_url), cache_seconds=self.cache_seconds
        )
        blueprint = Blueprint("frontline_metrics", __name__)
        blueprint.add_route(
            sanic_handler(registry, settings.metrics_token), "/metrics", methods=["GET"]
        )
        return blueprint

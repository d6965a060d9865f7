"""Builds the outcome store and the outcome writer's processor from configuration."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from frontline.errors import ConfigurationError
from frontline.feedback import create as create_feedback_store
from frontline.handoff.queue import create_from_settings as create_queue
from frontline.outcomes.folding import OutcomeFolder
from frontline.outcomes.human_side import QueueReader
from frontline.outcomes.policy import OutcomePolicies, outcome_policies
from frontline.outcomes.processor import OutcomeProcessor
from frontline.outcomes.pseudonym import load_key, pseudonymizer
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.store import OutcomeStore
from frontline.outcomes.tiers import create_tier_lookup
from frontline.settings import Settings

logger = logging.getLogger(__name__)

STORE_TYPES = ("sql",)


def create(config: Mapping[str, Any]) -> OutcomeStore:
    """Builds an outcome store from a config mapping: ``{"type": "sql", "url": ...}``.

    Raises:
        ConfigurationError: The type is unknown or the URL is missing.
    """
    store_type = config.get("type")
    if store_type not in STORE_TYPES:
        raise ConfigurationError(
            f"unknown outcome store type {store_type!r}; expected one of {', '.join(STORE_TYPES)}"
        )
    url = config.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"the {store_type} outcome store needs a 'url'")
    return SqlOutcomeStore(url)


def create_from_settings(settings: Settings) -> OutcomeStore:
    """The outcome store in Frontline's own database (``FRONTLINE_DATABASE_URL``)."""
    return create({"type": "sql", "url": settings.database_url})


def policy_version_label(rules: OutcomePolicies) -> str:
    """Every policy module's version as one label: ``consent=1.0.0;...;slo=1.0.0``."""
    from frontline.policy import policies

    versions = policies().versions | rules.versions
    return ";".join(f"{name}={version}" for name, version in sorted(versions.items()))


def _sentiment() -> Callable[[str, str | None], float]:
    from frontline.dialogue.signals import message_score
    from frontline.policy import policies

    return partial(_score, message_score, policies().escalation.frustration)


def _score(score: Callable[..., float], rule: Any, text: str, intent: str | None) -> float:
    return score(text, intent, rule)


def processor_from_settings(
    settings: Settings,
    *,
    database_url: str | None = None,
    tier_source: str = "crm",
    clock: Callable[[], float] = time.time,
    with_slos: bool = True,
) -> OutcomeProcessor:
    """The processor the Rasa server's outcome broker (or a rebuild) runs.

    Loads every policy module (a broken one raises ``ConfigurationError``), the
    pseudonym key, the tier lookup, the CSAT store and the handoff queue.
    """
    rules = outcome_policies(settings.policies_dir)
    url = database_url or settings.database_url
    store = SqlOutcomeStore(url)
    folder = OutcomeFolder(
        rules.outcomes,
        pseudonymize=pseudonymizer(load_key(settings.pseudonym_key)),
        tier_of=create_tier_lookup(tier_source, settings.sandbox_url, settings.http_timeout),
        sentiment=_sentiment(),
        policy_version=policy_version_label(rules),
    )
    on_tick = None
    if with_slos:
        from frontline.metrics.slo import SloMonitor

        on_tick = SloMonitor(store, rules).tick
    return OutcomeProcessor(
        store,
        folder,
        rules.outcomes,
        feedback=create_feedback_store({"type": "sql", "url": url}),
        queue=QueueReader(partial(create_queue, settings), settings.simulated_clock),
        clock=clock,
        on_tick=on_tick,
        simulated_clock=settings.simulated_clock,
    )

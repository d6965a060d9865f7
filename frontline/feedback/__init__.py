"""CSAT feedback storage behind one small interface.

Usage::

    from frontline.feedback import create

    store = create({"type": "sql", "url": "sqlite:///var/frontline.db"})
    store.save(record)

``create`` picks the implementation from a config mapping; today there is one,
``{"type": "sql", "url": ...}`` (SQLite by default, PostgreSQL by URL).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from frontline.backends import backend_type, backend_url
from frontline.feedback.base import (
    CsatRecord,
    FeedbackError,
    FeedbackStore,
    InvalidFeedback,
)
from frontline.feedback.sql_store import SqlFeedbackStore
from frontline.settings import Settings, get_settings

__all__ = [
    "CsatRecord",
    "FeedbackError",
    "FeedbackStore",
    "InvalidFeedback",
    "SqlFeedbackStore",
    "create",
    "create_from_settings",
    "feedback_store",
]

logger = logging.getLogger(__name__)

STORE_TYPES = ("sql",)


def create(config: Mapping[str, Any]) -> FeedbackStore:
    """Builds a feedback store from a config mapping.

    Args:
        config: ``type`` (``sql``) and ``url``.

    Returns:
        A store that has not connected yet.

    Raises:
        ConfigurationError: The type is unknown or the URL is missing.
    """
    store_type = backend_type(config, STORE_TYPES, "feedback store")
    store = SqlFeedbackStore(backend_url(config, store_type, "feedback store"))
    logger.debug("Created feedback store %r", store)
    return store


def create_from_settings(settings: Settings) -> FeedbackStore:
    """The feedback store of Frontline's own database (``FRONTLINE_DATABASE_URL``)."""
    return create({"type": "sql", "url": settings.database_url})


@lru_cache(maxsize=1)
def feedback_store() -> FeedbackStore:
    """The process's feedback store, configured from settings (connects on first use)."""
    return create_from_settings(get_settings())

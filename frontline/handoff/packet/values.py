"""Small value checks the packet's parts share: text, numbers, times."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

WHITESPACE_RE = re.compile(r"\s+")


def numeric(event: Mapping[str, Any] | None, key: str) -> float | None:
    value = (event or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def clean(value: Any) -> str | None:
    """A stripped non-empty string, or None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def as_utc(moment: datetime) -> datetime:
    return (
        moment.replace(tzinfo=timezone.utc)
        if moment.tzinfo is None
        else moment.astimezone(timezone.utc)
    )


def parse_timestamp(value: Any) -> datetime | None:
    """A Rasa float timestamp or an ISO-8601 string as an aware UTC datetime."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value), timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return as_utc(datetime.fromisoformat(text))
        except ValueError:
            return None
    return None


def iso(moment: datetime) -> str:
    """``2024-05-01T12:30:00.123Z``."""
    return as_utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clamp_confidence(value: Any) -> float | None:
    """A confidence between 0 and 1, or None when ``value`` is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return min(max(float(value), 0.0), 1.0)

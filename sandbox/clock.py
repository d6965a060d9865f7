"""Time in the sandbox: demo data is dated against a fixed reference instant."""

from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc

#: The instant the demo data is dated against ("today" in the seeded world).
REFERENCE_TIME = dt.datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)


def utcnow() -> dt.datetime:
    """The current time in UTC, to the second, never earlier than :data:`REFERENCE_TIME`.

    Writes (a cancellation, a refund) are stamped with it, so they never appear to
    happen before the seeded history even on a machine whose clock is behind.
    """
    now = dt.datetime.now(UTC).replace(microsecond=0)
    return max(now, REFERENCE_TIME)


def isoformat(value: dt.datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z`` suffix (``2026-11-01T12:00:00Z``), or ``None``."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")

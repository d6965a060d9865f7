"""What every swappable backend shares (the handoff queue, the feedback store, ...).

Each kind of backend is one small interface with a ``create(config)`` factory that
picks the implementation by ``type``. :class:`Backend` gives the interface ``close``
and the ``with`` block; :func:`backend_type` and :func:`backend_url` are the checks
every factory starts with, so their errors read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from frontline.errors import ConfigurationError

B = TypeVar("B", bound="Backend")


class Backend:
    """A backend that holds connections: use it in a ``with`` block, or call :meth:`close`."""

    def close(self) -> None:
        """Releases the backend's connections (nothing to release by default)."""

    def __enter__(self: B) -> B:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def backend_type(config: Mapping[str, Any], types: Sequence[str], kind: str) -> str:
    """The ``type`` of a backend's config.

    Args:
        config: The config mapping.
        types: The known implementations.
        kind: What is configured, for the error (``handoff queue``).

    Raises:
        ConfigurationError: The type is not one of ``types``.
    """
    chosen = config.get("type")
    if chosen not in types:
        raise ConfigurationError(
            f"unknown {kind} type {chosen!r}; expected one of {', '.join(types)}"
        )
    return str(chosen)


def backend_url(config: Mapping[str, Any], chosen: str, kind: str) -> str:
    """The ``url`` of a backend's config.

    Raises:
        ConfigurationError: There is none.
    """
    url = config.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"the {chosen} {kind} needs a 'url'")
    return url

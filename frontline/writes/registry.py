"""Which connector methods are backend writes, and the guard that keeps them on the path.

Each connector method that changes a backend is decorated with :func:`backend_write`,
naming the write operations (``policies/escalation.yml`` ``writes``) it serves. Called
outside :meth:`frontline.writes.WritePath.execute` it raises :class:`WriteOutsidePath`
before any request is sent, so a service cannot skip the guardrails, the idempotency
key or the audit record. ``tests/frontline/test_write_path.py`` enumerates the writes
through :data:`WRITE_METHODS`.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from frontline.errors import FrontlineError

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

#: The operation the write path is executing in this task (None: outside the path).
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "frontline_write_operation", default=None
)

#: ``"OrdersClient.cancel_order"`` -> the operations it serves.
WRITE_METHODS: dict[str, tuple[str, ...]] = {}


class WriteOutsidePath(FrontlineError):
    """A connector write was called other than through the write path."""


def backend_write(*operations: str) -> Callable[[F], F]:
    """Marks a connector method as the backend write of ``operations``."""

    def decorate(method: F) -> F:
        name = method.__qualname__
        WRITE_METHODS[name] = operations

        @functools.wraps(method)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            current = _current.get()
            if current not in operations:
                raise WriteOutsidePath(
                    f"{name} writes to a backend; call it through frontline.writes.WritePath "
                    f"(operation {'/'.join(operations)}), not directly"
                    + (f" (inside {current})" if current else "")
                )
            return await method(*args, **kwargs)

        guarded.__frontline_write__ = operations  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


@contextlib.contextmanager
def executing(operation: str) -> Iterator[None]:
    """The scope in which the write path lets ``operation``'s connector method run."""
    token = _current.set(operation)
    try:
        yield
    finally:
        _current.reset(token)

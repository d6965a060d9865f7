"""The fault switch: makes the sandbox slow or failing on demand, for tests.

The switch lives in the app (per process). It applies to every request outside
``/admin`` whose path starts with ``path_prefix`` (every such request when it is
``None``): first the latency, then, with probability ``error_rate``, an error answer
with ``error_status``; ``after_ms`` delays the answer *after* the request was handled
(the write is done, the client times out: an unknown outcome); ``count`` limits the
fault to the next N matching requests. The draws come from a seeded generator, re-seeded at every
change, so a given sequence of requests fails the same way each run.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.errors import ApiError, invalid_request

logger = logging.getLogger(__name__)

ADMIN_PREFIX = "/admin"
MAX_LATENCY_MS = 60_000
_FIELDS = frozenset(
    {"latency_ms", "error_status", "error_rate", "path_prefix", "seed", "after_ms", "count"}
)


@dataclass(frozen=True)
class FaultConfig:
    """What the switch does.

    Attributes:
        latency_ms: Delay added before answering, in milliseconds.
        error_status: Status answered instead of the real response (e.g. 503), or ``None``.
        error_rate: Probability (0..1) that a matching request gets ``error_status``.
        path_prefix: Only paths starting with it are affected; ``None`` for all.
        after_ms: Delay added after the request was handled, before the answer leaves.
        count: Only the next ``count`` matching requests are affected (None: all).
    """

    latency_ms: int = 0
    error_status: int | None = None
    error_rate: float = 0.0
    path_prefix: str | None = None
    after_ms: int = 0
    count: int | None = None

    @property
    def active(self) -> bool:
        """Whether the switch changes anything."""
        return (
            self.latency_ms > 0
            or self.after_ms > 0
            or (self.error_status is not None and self.error_rate > 0)
        )

    def matches(self, path: str) -> bool:
        """Whether a request to ``path`` is affected."""
        if path.startswith(ADMIN_PREFIX):
            return False
        return self.path_prefix is None or path.startswith(self.path_prefix)

    def as_dict(self) -> dict[str, Any]:
        """The JSON view, as ``GET /admin/faults`` shows it."""
        return {**asdict(self), "active": self.active}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> tuple[FaultConfig, int | None]:
        """Validates a ``PUT /admin/faults`` body.

        Omitted fields take their defaults, except ``error_rate`` which defaults to 1.0
        when ``error_status`` is given. An optional integer ``seed`` re-seeds the draws.

        Returns:
            The configuration and the seed (``None`` when not given).

        Raises:
            ApiError: 400 ``invalid_request`` on unknown fields or out-of-range values.
        """
        unknown = sorted(set(payload) - _FIELDS)
        if unknown:
            raise invalid_request(f"Unknown fault field(s): {', '.join(unknown)}.")
        latency = payload.get("latency_ms", 0)
        if latency is None:
            latency = 0
        if not _is_int(latency) or not 0 <= latency <= MAX_LATENCY_MS:
            raise invalid_request(f"latency_ms must be an integer from 0 to {MAX_LATENCY_MS}.")
        status = payload.get("error_status")
        if status is not None and (not _is_int(status) or not 400 <= status <= 599):
            raise invalid_request("error_status must be an HTTP error status (400-599) or null.")
        rate = payload.get("error_rate")
        if rate is None:
            rate = 1.0 if status is not None else 0.0
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise invalid_request("error_rate must be a number from 0 to 1.")
        after = payload.get("after_ms") or 0
        if not _is_int(after) or not 0 <= after <= MAX_LATENCY_MS:
            raise invalid_request(f"after_ms must be an integer from 0 to {MAX_LATENCY_MS}.")
        count = payload.get("count")
        if count is not None and (not _is_int(count) or count < 1):
            raise invalid_request("count must be a positive integer or null.")
        prefix = payload.get("path_prefix")
        if prefix is not None and (not isinstance(prefix, str) or not prefix.startswith("/")):
            raise invalid_request("path_prefix must be a path starting with '/' or null.")
        seed = payload.get("seed")
        if seed is not None and not _is_int(seed):
            raise invalid_request("seed must be an integer.")
        config = cls(
            latency_ms=latency,
            error_status=status,
            error_rate=float(rate),
            path_prefix=prefix,
            after_ms=after,
            count=count,
        )
        return config, seed


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FaultSwitch:
    """The app's current fault configuration and its random generator.

    Args:
        seed: Default seed of the generator deciding which requests fail.
    """

    def __init__(self, seed: int) -> None:
        self._default_seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.config = FaultConfig()
        self._remaining: int | None = None

    def set(self, config: FaultConfig, seed: int | None = None) -> None:
        """Replaces the configuration and re-seeds the generator."""
        with self._lock:
            self.config = config
            self._remaining = config.count
            self._rng = random.Random(self._default_seed if seed is None else seed)
        logger.warning("sandbox fault switch set: %s", config)

    def clear(self) -> None:
        """Turns every fault off."""
        self.set(FaultConfig())

    def _draw(self) -> float:
        with self._lock:
            return self._rng.random()

    def take(self, path: str) -> FaultConfig | None:
        """The fault for a request to ``path`` (None: unaffected); counts it."""
        config = self.config
        if not config.active or not config.matches(path):
            return None
        with self._lock:
            if self._remaining is not None:
                if self._remaining <= 0:
                    return None
                self._remaining -= 1
        return config

    async def apply(self, path: str) -> ApiError | None:
        """Applies the switch to a request: sleeps, then maybe returns the error to answer."""
        config = self.take(path)
        return None if config is None else await self.apply_config(config)

    @staticmethod
    async def apply_after(config: FaultConfig | None) -> None:
        """The delay after the request was handled (the answer leaves late)."""
        if config is not None and config.after_ms:
            await asyncio.sleep(config.after_ms / 1000)

    async def apply_config(self, config: FaultConfig) -> ApiError | None:
        """Applies one taken fault before the request is handled."""
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        if config.error_status is None or config.error_rate <= 0:
            return None
        if config.error_rate >= 1 or self._draw() < config.error_rate:
            return ApiError(
                config.error_status,
                "injected_fault",
                f"Fault injected by the sandbox fault switch (HTTP {config.error_status}).",
            )
        return None

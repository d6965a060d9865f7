"""One settings object, read once from the environment.

Defaults suit a laptop with nothing installed: SQLite files under ``var/`` and no
Redis. Real servers are switched on by environment variables (see README).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_sqlite_url(name: str) -> str:
    return f"sqlite:///{PROJECT_ROOT / 'var' / name}"


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of the action server and its helpers.

    Attributes:
        sandbox_url: Base URL of the CRM / orders / billing service.
        http_timeout: Seconds before a backend call is abandoned.
        database_url: SQLAlchemy URL of Frontline's own tables (handoff queue, ...).
        redis_url: Redis URL; when set, the handoff queue uses Redis Streams.
        handoff_queue: ``redis`` or ``sql``; derived from ``redis_url`` unless set.
        redis_stream: Name of the Redis stream holding handoff packets.
        policies_dir: Folder of the policy-as-code YAML modules.
    """

    sandbox_url: str = "http://127.0.0.1:5080"
    http_timeout: float = 5.0
    database_url: str = field(default_factory=lambda: _default_sqlite_url("frontline.db"))
    redis_url: str | None = None
    handoff_queue: str = "sql"
    redis_stream: str = "frontline:handoffs"
    policies_dir: Path = PROJECT_ROOT / "policies"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Builds settings from environment variables (``os.environ`` by default)."""
        env = dict(os.environ if env is None else env)
        redis_url = env.get("REDIS_URL") or None
        return cls(
            sandbox_url=env.get("SANDBOX_URL", cls.sandbox_url).rstrip("/"),
            http_timeout=float(env.get("BACKEND_TIMEOUT_SECONDS", cls.http_timeout)),
            database_url=env.get("FRONTLINE_DATABASE_URL") or _default_sqlite_url("frontline.db"),
            redis_url=redis_url,
            handoff_queue=env.get("HANDOFF_QUEUE") or ("redis" if redis_url else "sql"),
            redis_stream=env.get("HANDOFF_STREAM", cls.redis_stream),
            policies_dir=Path(env.get("FRONTLINE_POLICIES_DIR", str(PROJECT_ROOT / "policies"))),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Returns the process-wide settings, read from the environment on first use."""
    return Settings.from_env()

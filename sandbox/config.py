"""Runtime configuration of the sandbox service, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Largest request body accepted, in bytes; larger bodies get 413 ``payload_too_large``.
DEFAULT_REQUEST_MAX_SIZE = 64 * 1024


def default_database_url() -> str:
    """SQLite file under the repository's ``var/`` folder."""
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'sandbox.db'}"


@dataclass(frozen=True)
class SandboxConfig:
    """Settings of one sandbox app.

    Attributes:
        database_url: SQLAlchemy URL of the sandbox's own database.
        admin_token: When set, ``/admin/*`` requires header ``X-Sandbox-Admin-Token``
            with this value; when ``None`` the admin routes are open (local sandbox).
        request_max_size: Largest request body accepted, in bytes.
        db_threads: Size of the thread pool running database work (and of the
            connection pool on servers that have one).
        fault_seed: Seed of the random generator that decides injected errors.
    """

    database_url: str = field(default_factory=default_database_url)
    admin_token: str | None = None
    request_max_size: int = DEFAULT_REQUEST_MAX_SIZE
    db_threads: int = 8
    fault_seed: int = 20261124

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SandboxConfig:
        """Builds the configuration from environment variables.

        Reads ``SANDBOX_DATABASE_URL``, ``SANDBOX_ADMIN_TOKEN``,
        ``SANDBOX_REQUEST_MAX_SIZE`` and ``SANDBOX_DB_THREADS``.

        Args:
            env: Variables to read; ``os.environ`` when omitted.
        """
        env = os.environ if env is None else env
        return cls(
            database_url=env.get("SANDBOX_DATABASE_URL") or default_database_url(),
            admin_token=env.get("SANDBOX_ADMIN_TOKEN") or None,
            request_max_size=int(env.get("SANDBOX_REQUEST_MAX_SIZE") or DEFAULT_REQUEST_MAX_SIZE),
            db_threads=int(env.get("SANDBOX_DB_THREADS") or 8),
        )

"""One settings object, read once from the environment.

Defaults suit a laptop with nothing installed: SQLite files under ``var/`` and no
Redis. Real servers are switched on by environment variables (see README).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from frontline.errors import ConfigurationError

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
        audit_chain: Name of the audit chain this deployment appends to (one table can
            hold several independent chains, e.g. one per test run).
        as_of: When set, date rules (the return window) are judged as of this instant
            instead of the current time: for demos and tests against the sandbox,
            whose data is dated 2026-11-01 (``FRONTLINE_AS_OF=2026-11-01T12:00:00Z``).
        handoff_lease_seconds: How long an agent keeps a claimed handoff without a
            heartbeat from the desk; then it is offered to the other agents again.
        rasa_url: Base URL of the Rasa server's HTTP API (the agent desk talks to it).
        rasa_auth_token: Token of Rasa's HTTP API (``rasa run --auth-token``).
        desk_session_hours: Longest life of an agent desk sign-in.
        desk_idle_minutes: A desk sign-in unused for this long is signed out.
        desk_secure_cookies: Mark the desk's session cookie ``Secure`` even when the
            desk sees plain HTTP (behind a proxy that terminates TLS).
        slack_api_url: Base URL of Slack's Web API (tests point it at a local fake).
        webchat_allowed_origins: Web pages allowed to open the web chat's socket.io
            connection; empty allows every origin (Rasa's default).
        channel_secret: Signs the conversation tokens the channels issue
            (:mod:`frontline.channels.sessions`); or, better, ``channel_secret_file``:
            an owner-only file holding it.
        limits_policy_file: The channels' limits policy (default
            ``<policies_dir>/limits.yml``; load tests point it at a looser copy).
        trusted_proxy_hops: How many proxies in front of the Rasa server append to
            ``X-Forwarded-For``; the channels take the client address that many hops
            from the right (0: the connection's own address).
        pseudonym_key: Key of the keyed hash naming customers in outcome records
            (``FRONTLINE_PSEUDONYM_KEY``; see :mod:`frontline.outcomes.pseudonym`).
        metrics_token: When set, ``/metrics`` of every server needs it as a bearer
            token (``FRONTLINE_METRICS_TOKEN``).
        action_timeout: Seconds the Rasa server waits for the action server to run one
            action (``ACTION_TIMEOUT_SECONDS``; Rasa's own is 300); then the turn counts
            as failed and the customer is told (docs/decisions/dependency-failures.md).
        outbox_retry_seconds: How often handoffs waiting in the outbox are offered to the
            queue again (``OUTBOX_RETRY_SECONDS``).
        health_timeout: Seconds each dependency has to answer a readiness check
            (``HEALTH_TIMEOUT_SECONDS``).
        simulated_clock: Demos only (``FRONTLINE_SIMULATED_CLOCK=1``, which ``make run``
            sets): the outcome records date conversations whose id starts ``SIM<N>D``
            N days back (:mod:`frontline.outcomes.simulated_clock`). Off by default.
    """

    sandbox_url: str = "http://127.0.0.1:5080"
    http_timeout: float = 5.0
    database_url: str = field(default_factory=lambda: _default_sqlite_url("frontline.db"))
    redis_url: str | None = None
    handoff_queue: str = "sql"
    redis_stream: str = "frontline:handoffs"
    policies_dir: Path = PROJECT_ROOT / "policies"
    audit_chain: str = "main"
    as_of: datetime | None = None
    handoff_lease_seconds: float = 60.0
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_auth_token: str | None = None
    desk_session_hours: float = 12.0
    desk_idle_minutes: float = 30.0
    desk_secure_cookies: bool = False
    slack_api_url: str = "https://slack.com/api/"
    webchat_allowed_origins: tuple[str, ...] = ()
    channel_secret: str | None = field(default=None, repr=False)
    channel_secret_file: str | None = None
    limits_policy_file: Path | None = None
    trusted_proxy_hops: int = 0
    pseudonym_key: str | None = field(default=None, repr=False)
    metrics_token: str | None = field(default=None, repr=False)
    action_timeout: float = 20.0
    outbox_retry_seconds: float = 5.0
    health_timeout: float = 2.0
    simulated_clock: bool = False

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
            audit_chain=env.get("FRONTLINE_AUDIT_CHAIN") or cls.audit_chain,
            as_of=_instant(env.get("FRONTLINE_AS_OF"), "FRONTLINE_AS_OF"),
            handoff_lease_seconds=float(
                env.get("HANDOFF_LEASE_SECONDS") or cls.handoff_lease_seconds
            ),
            rasa_url=(env.get("RASA_URL") or cls.rasa_url).rstrip("/"),
            rasa_auth_token=env.get("RASA_AUTH_TOKEN") or None,
            desk_session_hours=float(env.get("DESK_SESSION_HOURS") or cls.desk_session_hours),
            desk_idle_minutes=float(env.get("DESK_IDLE_MINUTES") or cls.desk_idle_minutes),
            desk_secure_cookies=env.get("DESK_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
            slack_api_url=env.get("SLACK_API_URL") or cls.slack_api_url,
            webchat_allowed_origins=tuple(
                origin.strip().rstrip("/")
                for origin in (env.get("WEBCHAT_ALLOWED_ORIGINS") or "").split(",")
                if origin.strip()
            ),
            channel_secret=env.get("FRONTLINE_CHANNEL_SECRET") or None,
            channel_secret_file=env.get("FRONTLINE_CHANNEL_SECRET_FILE") or None,
            limits_policy_file=(
                Path(env["FRONTLINE_LIMITS_POLICY"]) if env.get("FRONTLINE_LIMITS_POLICY") else None
            ),
            trusted_proxy_hops=int(env.get("FRONTLINE_TRUSTED_PROXY_HOPS") or 0),
            pseudonym_key=env.get("FRONTLINE_PSEUDONYM_KEY") or None,
            metrics_token=env.get("FRONTLINE_METRICS_TOKEN") or None,
            action_timeout=float(env.get("ACTION_TIMEOUT_SECONDS") or cls.action_timeout),
            outbox_retry_seconds=float(env.get("OUTBOX_RETRY_SECONDS") or cls.outbox_retry_seconds),
            health_timeout=float(env.get("HEALTH_TIMEOUT_SECONDS") or cls.health_timeout),
            simulated_clock=env.get("FRONTLINE_SIMULATED_CLOCK", "").lower()
            in ("1", "true", "yes"),
        )


def _instant(text: str | None, name: str) -> datetime | None:
    """An ISO-8601 instant from the environment, as aware UTC (naive means UTC)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an ISO-8601 time, not {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def business_now(settings: Settings | None = None) -> datetime:
    """The instant date rules are judged at: ``as_of`` when set, else the current time."""
    as_of = (settings or get_settings()).as_of
    return as_of if as_of is not None else datetime.now(timezone.utc)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Returns the process-wide settings, read from the environment on first use."""
    return Settings.from_env()

"""Agents, password hashes and sessions (on SQLite and PostgreSQL), and the agents CLI."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from desk.accounts import (
    AccountError,
    AccountStoreUnavailable,
    AgentStore,
    DeviceTokens,
    SignInThrottle,
    hash_password,
    token_digest,
    verify_password,
)
from desk.agents import main as agents_cli
from frontline.db import session_scope

PASSWORD = "a long enough passphrase"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(sql_url: str, clock: FakeClock) -> Iterator[AgentStore]:
    """A store on SQLite and on PostgreSQL; names are unique per test."""
    yield AgentStore(sql_url, lifetime=timedelta(hours=12), idle=timedelta(minutes=30), clock=clock)


@pytest.fixture
def name() -> Iterator[str]:
    yield f"agent-{uuid.uuid4().hex[:8]}"


# -- password hashes ------------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)

    assert first != second  # a fresh salt each time
    scheme, n, r, p, salt, key = first.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**15, 8, 3)
    assert PASSWORD not in first
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "!", first)
    assert not verify_password(PASSWORD, first.replace(key, salt))


@pytest.mark.parametrize(
    "stored",
    ["", "plain-text-password", "md5$abc", "scrypt$1$8$1$AAAA$AAAA", "scrypt$x$8$1$AA$AA"],
)
def test_malformed_hashes_never_match(stored: str) -> None:
    assert verify_password(PASSWORD, stored) is False


# -- agents ---------------------------------------------------------------------------


def test_agents_are_stored_with_a_hash_only(store: AgentStore, name: str, sql_url: str) -> None:
    agent = store.add_agent(name, "supervisor", PASSWORD)

    assert (agent.name, agent.role, agent.active) == (name, "supervisor", True)
    assert store.get_agent(name) == agent
    assert name in [a.name for a in store.list_agents()]
    with session_scope(sql_url) as session:
        stored = session.execute(
            sa.text("SELECT password_hash FROM desk_agents WHERE name = :n"), {"n": name}
        ).scalar_one()
    assert stored.startswith("scrypt$") and PASSWORD not in stored


@pytest.mark.parametrize(
    ("agent_name", "role", "password"),
    [
        ("Ana", "agent", PASSWORD),
        ("a", "agent", PASSWORD),
        ("ana smith", "agent", PASSWORD),
        ("ana", "admin", PASSWORD),
        ("ana", "agent", "short"),
    ],
    ids=["uppercase", "too-short-name", "space", "unknown-role", "short-password"],
)
def test_bad_accounts_are_refused(store: AgentStore, agent_name: str, role: str, password: str):
    with pytest.raises(AccountError):
        store.add_agent(agent_name, role, password)


def test_a_name_is_taken_once(store: AgentStore, name: str) -> None:
    store.add_agent(name, "agent", PASSWORD)
    with pytest.raises(AccountError, match="exists already"):
        store.add_agent(name, "supervisor", PASSWORD)


# -- sign-in and sessions -------------------------------------------------------------


def test_authenticate_needs_the_right_password_and_an_active_agent(
    store: AgentStore, name: str
) -> None:
    store.add_agent(name, "agent", PASSWORD)

    assert store.authenticate(name, PASSWORD) is not None
    assert store.authenticate(name, PASSWORD.upper()) is None
    assert store.authenticate("nobody-here", PASSWORD) is None
    store.set_active(name, False)
    assert store.authenticate(name, PASSWORD) is None


def test_sessions_are_stored_as_digests(store: AgentStore, name: str, sql_url: str) -> None:
    agent = store.add_agent(name, "agent", PASSWORD)
    token = store.start_session(agent)

    with session_scope(sql_url) as session:
        stored = session.execute(
            sa.text(
                "SELECT token_hash FROM desk_sessions s JOIN desk_agents a ON a.id = s.agent_id "
                "WHERE a.name = :n"
            ),
            {"n": name},
        ).scalar_one()
    assert stored == token_digest(token) and token not in stored
    assert store.session_agent(token) == agent
    assert store.session_agent(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_sessions_end_when_idle_or_too_old(
    store: AgentStore, name: str, clock: FakeClock, sql_url: str
) -> None:
    agent = store.add_agent(name, "agent", PASSWORD)
    idle_token, busy_token = store.start_session(agent), store.start_session(agent)

    clock.advance(minutes=20)
    assert store.session_agent(busy_token) is not None  # used: stays alive
    clock.advance(minutes=20)
    assert store.session_agent(idle_token) is None  # unused for 40 minutes
    for _ in range(30):  # used every 25 minutes, but 12 hours is the limit
        clock.advance(minutes=25)
        if store.session_agent(busy_token) is None:
            break
    assert clock.now - datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc) <= timedelta(hours=12)
    assert store.session_agent(busy_token) is None
    with session_scope(sql_url) as session:  # both were deleted when found dead
        left = session.execute(
            sa.text(
                "SELECT count(*) FROM desk_sessions s JOIN desk_agents a ON a.id = s.agent_id "
                "WHERE a.name = :n"
            ),
            {"n": name},
        ).scalar_one()
    assert left == 0
    store.purge_sessions()  # other tests' ended sessions on a shared server


def test_password_changes_and_disabling_end_sessions(store: AgentStore, name: str) -> None:
    agent = store.add_agent(name, "agent", PASSWORD)
    token = store.start_session(agent)
    store.set_password(name, "another long passphrase")
    assert store.session_agent(token) is None
    assert store.authenticate(name, PASSWORD) is None
    assert store.authenticate(name, "another long passphrase") is not None

    token = store.start_session(agent)
    store.set_role(name, "supervisor")
    assert store.session_agent(token) is None
    token = store.start_session(agent)
    assert store.session_agent(token).role == "supervisor"  # type: ignore[union-attr]
    store.set_active(name, False)
    assert store.session_agent(token) is None
    with pytest.raises(AccountError):
        store.set_active("nobody-here", True)


def test_signing_out_reports_the_sessions_left(store: AgentStore, name: str) -> None:
    agent = store.add_agent(name, "agent", PASSWORD)
    first, second = store.start_session(agent), store.start_session(agent)

    assert store.end_session(first) == (agent, 1)
    assert store.end_session(second) == (agent, 0)
    assert store.end_session(second) == (None, 0)


def test_an_unreachable_database_is_a_project_error() -> None:
    store = AgentStore("postgresql://postgres@127.0.0.1:1/test?connect_timeout=1")
    with pytest.raises(AccountStoreUnavailable) as raised:
        store.get_agent("ana")
    assert raised.value.__cause__ is not None


def test_the_throttle_backs_off_per_key_and_counts_attempts_in_flight() -> None:
    now = [100.0]
    throttle = SignInThrottle(3, 60, base_delay=1.0, max_delay=8.0, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.admit("ana") == 0
        throttle.finish("ana", failed=True)
    assert throttle.retry_after("ana") == 1.0 and throttle.retry_after("ben") == 0
    now[0] += 1.0
    assert throttle.admit("ana") == 0  # one more after the wait, then twice as long
    throttle.finish("ana", failed=True)
    assert throttle.retry_after("ana") == 2.0
    now[0] += 100  # the failures age out of the window
    assert throttle.retry_after("ana") == 0
    throttle.admit("ana")
    throttle.finish("ana", failed=False, forget=True)
    assert throttle.retry_after("ana") == 0


def test_concurrent_attempts_cannot_slip_past_the_free_attempts() -> None:
    throttle = SignInThrottle(3, 60, max_in_flight=10, clock=lambda: 5.0)
    admitted = [throttle.admit("office") == 0 for _ in range(40)]
    assert admitted.count(True) == 3  # in flight counts: the rest wait for the backoff


def test_device_tokens_are_per_name_and_revocable() -> None:
    devices = DeviceTokens(capacity=2)
    token = devices.issue("Cleo")
    assert devices.valid(token, "cleo") and not devices.valid(token, "ana")
    devices.revoke(token)
    assert not devices.valid(token, "cleo")
    first = devices.issue("a")
    devices.issue("b")
    devices.issue("c")
    assert not devices.valid(first, "a")  # the oldest went first


# -- the command line -----------------------------------------------------------------


def run_cli(database_url: str, *args: str, stdin: str = "", env: dict | None = None):
    out = io.StringIO()
    code = agents_cli(
        ["--database-url", database_url, *args],
        stdin=io.StringIO(stdin),
        stdout=out,
        env=env or {},
    )
    return code, out.getvalue()


def test_the_cli_manages_agents(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(
        sqlite_url, "add", "--name", "ana", "--role", "supervisor", stdin=PASSWORD + "\n"
    ) == (
        0,
        "Created supervisor ana.\n",
    )
    env = {"DESK_AGENT_PASSWORD": "from the environment"}
    assert run_cli(sqlite_url, "add", "--name", "ben", env=env)[0] == 0
    assert run_cli(sqlite_url, "disable", "--name", "ben") == (0, "Disabled ben.\n")
    code, listing = run_cli(sqlite_url, "list")
    assert code == 0 and listing.splitlines() == [
        f"{'ana':<24} supervisor",
        f"{'ben':<24} agent  (disabled)",
    ]

    store = AgentStore(sqlite_url)
    assert store.authenticate("ana", PASSWORD) is not None
    assert store.authenticate("ben", "from the environment") is None  # disabled
    assert run_cli(sqlite_url, "enable", "--name", "ben")[0] == 0
    assert store.authenticate("ben", "from the environment") is not None

    assert run_cli(sqlite_url, "add", "--name", "ana", stdin=PASSWORD + "\n")[0] == 2
    assert run_cli(sqlite_url, "add", "--name", "cleo", stdin="short\n")[0] == 2
    assert run_cli(sqlite_url, "add", "--name", "cleo", stdin="")[0] == 2
    assert run_cli(sqlite_url, "password", "--name", "nobody", stdin=PASSWORD + "\n")[0] == 2
    errors = capsys.readouterr().err
    assert "exists already" in errors and "at least 10 characters" in errors
    assert "no password on standard input" in errors


# -- settings and the cookie ------------------------------------------------------------


def test_desk_settings_come_from_the_environment() -> None:
    from frontline.settings import Settings

    settings = Settings.from_env(
        {
            "RASA_URL": "http://rasa.internal:5005/",
            "RASA_AUTH_TOKEN": "t0ken",
            "HANDOFF_LEASE_SECONDS": "45",
            "DESK_SESSION_HOURS": "8",
            "DESK_IDLE_MINUTES": "15",
            "DESK_SECURE_COOKIES": "true",
        }
    )
    assert (settings.rasa_url, settings.rasa_auth_token) == ("http://rasa.internal:5005", "t0ken")
    assert (settings.handoff_lease_seconds, settings.desk_session_hours) == (45, 8)
    assert (settings.desk_idle_minutes, settings.desk_secure_cookies) == (15, True)
    defaults = Settings.from_env({})
    assert (defaults.rasa_auth_token, defaults.desk_secure_cookies) == (None, False)


@pytest.mark.parametrize(
    ("scheme", "forced", "secure"),
    [("http", False, False), ("https", False, True), ("http", True, True)],
)
def test_the_session_cookie_is_secure_over_tls(scheme: str, forced: bool, secure: bool) -> None:
    from types import SimpleNamespace

    from sanic.response import HTTPResponse

    from desk.security import set_cookie

    response = HTTPResponse()
    set_cookie(SimpleNamespace(scheme=scheme), response, "token", 60, secure=forced)  # type: ignore[arg-type]

    header = str(response.cookies["frontline_desk"])
    assert "HttpOnly" in header and "SameSite=Strict" in header
    assert ("Secure" in header) is secure

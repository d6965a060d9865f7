"""Fixtures for the feature-flag tests: real stores (SQLite, PostgreSQL, PostgreSQL with
Redis), our OpenFeature provider registered under a domain of each test's own, and the
audited admin on an audit chain of each test's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from openfeature import api

from frontline.audit.store import AuditStore
from frontline.flags.admin import FlagAdmin, Operator
from frontline.flags.capabilities import FlagCapabilityProvider
from frontline.flags.definitions import FlagsPolicy, load_flags_policy
from frontline.flags.provider import FrontlineFlagProvider
from frontline.flags.signal import ChangeSignal, RedisChangeSignal, SqlChangeSignal
from frontline.flags.state import FlagState
from frontline.flags.store import SqlFlagStore
from frontline.outcomes.pseudonym import pseudonymizer
from tests.policy.conftest import copy_policies
from tests.support.servers import POSTGRES_URL, REDIS_URL, require_server
from tests.support.topology import fresh_postgres_database

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
OPERATOR = Operator("ana", "cli")
#: The keyed hash naming customers in evaluations (a test key; production's is kept secret).
PSEUDONYMIZE = pseudonymizer("test-pseudonym-key-0123456789")
STORE_KINDS = ("sqlite", "postgresql", "postgresql+redis")


@pytest.fixture(scope="module")
def flags_database() -> Iterator[str]:
    """A PostgreSQL database of the module's own: the flag state row is per database."""
    with fresh_postgres_database(require_server(POSTGRES_URL, "PostgreSQL"), "flags") as url:
        yield url


@dataclass
class FlagWorld:
    """One deployment's flags as two processes see them, and its operator's admin.

    ``capabilities`` and ``other`` have a view each (as two workers or two instances
    would), over one database (and one Redis copy of the counter, when used).
    """

    kind: str
    url: str
    policy: FlagsPolicy
    admin: FlagAdmin
    audit: AuditStore
    capabilities: FlagCapabilityProvider
    other: FlagCapabilityProvider


def _signal(kind: str, store: SqlFlagStore, key: str, policy: FlagsPolicy) -> ChangeSignal:
    if kind.endswith("+redis"):
        client = redis.Redis.from_url(require_server(REDIS_URL, "Redis"))
        return RedisChangeSignal(client, store, policy.redis_ttl_seconds, key=key)
    return SqlChangeSignal(store)


def capabilities_for(
    policy: FlagsPolicy, state: FlagState, name: str | None = None
) -> FlagCapabilityProvider:
    """A capability provider over our provider, registered under a domain of its own."""
    feature_domain = name or f"test-{uuid.uuid4().hex[:10]}"
    api.set_provider_and_wait(FrontlineFlagProvider(policy, state, PSEUDONYMIZE), feature_domain)
    return FlagCapabilityProvider(client=api.get_client(feature_domain), policy=policy)


def make_world(kind: str, url: str, policies_dir: Path = POLICIES) -> FlagWorld:
    policy = load_flags_policy(policies_dir)
    key = f"test:flags:{uuid.uuid4().hex[:10]}"
    store = SqlFlagStore(url)
    audit = AuditStore(url, f"t{uuid.uuid4().hex[:12]}")
    views = [
        FlagState(store, _signal(kind, store, key, policy), policy.max_stale_seconds)
        for _ in range(2)
    ]
    return FlagWorld(
        kind=kind,
        url=url,
        policy=policy,
        admin=FlagAdmin(store, _signal(kind, store, key, policy), policy, audit),
        audit=audit,
        capabilities=capabilities_for(policy, views[0]),
        other=capabilities_for(policy, views[1]),
    )


@pytest.fixture(params=STORE_KINDS)
def world(request, tmp_path) -> Iterator[FlagWorld]:
    """The flags over each store: SQLite, PostgreSQL, PostgreSQL with the Redis copy."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'flags.db'}"
    else:
        url = request.getfixturevalue("flags_database")
    created = make_world(request.param, url)
    yield created
    if request.param != "sqlite":
        # The PostgreSQL database is the module's: leave it as the next test expects it.
        for override in created.admin.overrides():
            created.admin.remove_override(override.override_id, OPERATOR, "test cleanup")
        if created.admin.status().on:
            created.admin.set_kill_switch("off", OPERATOR, "test cleanup")


@pytest.fixture
def sqlite_world(tmp_path) -> FlagWorld:
    """The flags over a fresh SQLite file only."""
    return make_world("sqlite", f"sqlite:///{tmp_path / 'flags.db'}")


@pytest.fixture
def policies_copy(tmp_path) -> Path:
    """A fresh, editable copy of ``policies/``."""
    return copy_policies(tmp_path / "policies")


# The action-layer fixtures (real sandbox, SQLite queue), shared with tests/actions.
from tests.actions.conftest import backends, domain  # noqa: E402, F401

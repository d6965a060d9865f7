"""Frontline's own record of who was verified in which conversation, on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontline.identity import IdentityStore, MemoryIdentityStore, create


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request, tmp_path) -> IdentityStore:
    if request.param == "memory":
        return create({"type": "memory"})
    if request.param == "sqlite":
        return create({"type": "sql", "url": f"sqlite:///{tmp_path / 'identity.db'}"})
    return create({"type": "sql", "url": request.getfixturevalue("postgres_url")})


def test_a_verification_is_recorded_and_read_back(store: IdentityStore, unique_name):
    conversation = f"rest:{unique_name}"
    assert store.verified_customer(conversation) is None
    recorded = store.record(conversation, "C1001", method="crm:email+order_id")
    found = store.verification(conversation)
    assert found is not None and found.customer_id == "C1001"
    assert found.method == "crm:email+order_id" and found.verified_at == recorded.verified_at


def test_a_new_verification_replaces_the_old_and_forget_removes_it(store, unique_name):
    conversation = f"rest:{unique_name}"
    store.record(conversation, "C1001", method="crm:email+zip_code")
    store.record(conversation, "C1002", method="crm:email+order_id")
    assert store.verified_customer(conversation) == "C1002"
    assert store.verified_customer(f"{conversation}-other") is None
    store.forget(conversation)
    assert store.verified_customer(conversation) is None


async def test_the_async_reads_agree(store, unique_name):
    conversation = f"slack:{unique_name}"
    await store.record_async(conversation, "C1003", method="crm:email+zip_code")
    assert await store.verified_customer_async(conversation) == "C1003"


def test_an_old_verification_no_longer_counts():
    store = MemoryIdentityStore(max_age=timedelta(seconds=-1))
    store.record("c", "C1001", method="test")
    assert store.verified_customer("c") is None

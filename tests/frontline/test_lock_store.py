"""The Redis lock store issues each ticket once, even to processes racing for it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from frontline.stores import redis_lock_store_from_url


def test_concurrent_tickets_are_unique_and_cleanup_deletes_the_lock(redis_url, unique_name):
    stores = [redis_lock_store_from_url(redis_url, key_prefix=unique_name) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        tickets = list(pool.map(lambda i: stores[i % 4].issue_ticket("c1"), range(40)))
    assert sorted(tickets) == list(range(40))  # no ticket handed out twice

    for ticket in tickets:
        stores[ticket % 4].cleanup("c1", ticket)
    assert stores[0].get_lock("c1") is None


def test_a_lock_is_served_in_ticket_order(redis_url, unique_name):
    store = redis_lock_store_from_url(redis_url, key_prefix=unique_name)
    first, second = store.issue_ticket("c2"), store.issue_ticket("c2")
    lock = store.get_lock("c2")
    assert not lock.is_locked(first) and lock.is_locked(second)
    store.cleanup("c2", first)
    assert not store.get_lock("c2").is_locked(second)
    store.cleanup("c2", second)
    assert store.get_lock("c2") is None


def test_endpoints_files_name_the_stores_by_their_module_or_the_former_one():
    from rasa.shared.utils.common import class_from_module_path

    from frontline import stores

    for path in ("frontline.stores", "frontline.rasa_plugins"):
        assert class_from_module_path(f"{path}.EnvironmentLockStore") is stores.EnvironmentLockStore
        tracker_store = class_from_module_path(f"{path}.NonBlockingSQLTrackerStore")
        assert tracker_store is stores.NonBlockingSQLTrackerStore

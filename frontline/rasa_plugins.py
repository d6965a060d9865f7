"""The stores' former module path, kept for ``endpoints.yml`` files that still name it.

``type: frontline.rasa_plugins.NonBlockingSQLTrackerStore`` (and ``EnvironmentLockStore``)
keep working; new configuration names :mod:`frontline.stores`.
"""

from frontline.stores import (
    AtomicRedisLockStore,
    EnvironmentLockStore,
    NonBlockingSQLTrackerStore,
    redis_lock_store_from_url,
)

__all__ = [
    "AtomicRedisLockStore",
    "EnvironmentLockStore",
    "NonBlockingSQLTrackerStore",
    "redis_lock_store_from_url",
]

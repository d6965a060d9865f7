"""The Rasa server's tracker and lock stores, named by ``type:`` in ``endpoints.yml``.

Rasa's documented seam for storage: ``type: frontline.stores.NonBlockingSQLTrackerStore``
and ``type: frontline.stores.EnvironmentLockStore``. Imported by the Rasa server only (these
modules import Rasa).
"""

from frontline.stores.lock_store import (
    AtomicRedisLockStore,
    EnvironmentLockStore,
    redis_lock_store_from_url,
)
from frontline.stores.tracker_store import NonBlockingSQLTrackerStore

__all__ = [
    "AtomicRedisLockStore",
    "EnvironmentLockStore",
    "NonBlockingSQLTrackerStore",
    "redis_lock_store_from_url",
]

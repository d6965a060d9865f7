"""A verified customer's tier, for segmenting outcome records.

The tracker holds no tier today (only the ``customer_id`` the verification set; a
``customer_tier`` slot is used when the dialogue sets one), so the outcome writer asks
the CRM once per customer, in its background thread, and remembers the answer. A CRM
that does not answer leaves the tier ``unknown``; the handoff packet's tier fills it
for escalated contacts.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import quote

import requests

logger = logging.getLogger(__name__)

TIER_SOURCES = ("crm", "none")


class CrmTiers:
    """``GET {crm}/crm/customers/<id>`` -> ``tier``, cached (least recently used).

    Args:
        base_url: The CRM's base URL (``SANDBOX_URL``).
        timeout: Seconds per request.
        cache_size: Customers remembered.
    """

    def __init__(self, base_url: str, timeout: float, cache_size: int = 10_000) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cache_size = cache_size
        self._cache: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()
        self._session = requests.Session()

    def __call__(self, customer_id: str) -> str | None:
        with self._lock:
            if customer_id in self._cache:
                self._cache.move_to_end(customer_id)
                return self._cache[customer_id]
        answered, tier = self._fetch(customer_id)
        if not answered:
            return None  # asked again next time: an outage does not stick
        with self._lock:
            self._cache[customer_id] = tier
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return tier

    def _fetch(self, customer_id: str) -> tuple[bool, str | None]:
        url = f"{self.base_url}/crm/customers/{quote(customer_id, safe='')}"
        try:
            response = self._session.get(url, timeout=self.timeout)
            response.raise_for_status()
            tier = response.json().get("tier")
        except (requests.RequestException, ValueError, AttributeError) as exc:
            logger.warning("No tier for an outcome record: the CRM did not answer (%s)", exc)
            return False, None
        return True, (str(tier)[:32] if tier else None)


def create_tier_lookup(source: str, base_url: str, timeout: float) -> Callable[[str], str | None]:
    """The tier lookup ``source`` names (``crm`` or ``none``).

    Raises:
        ValueError: Unknown source.
    """
    if source == "crm":
        return CrmTiers(base_url, timeout)
    if source == "none":
        return lambda _customer_id: None
    raise ValueError(f"unknown tier source {source!r}; expected one of {', '.join(TIER_SOURCES)}")

"""Connectors to the backend services, one client per service, shared per process."""

from __future__ import annotations

from functools import lru_cache

from frontline.connectors.billing import BillingClient
from frontline.connectors.crm import CrmClient
from frontline.connectors.orders import OrdersClient
from frontline.settings import get_settings

__all__ = [
    "BillingClient",
    "CrmClient",
    "OrdersClient",
    "billing_client",
    "crm_client",
    "orders_client",
]


@lru_cache(maxsize=1)
def crm_client() -> CrmClient:
    """The process's CRM client, configured from settings."""
    settings = get_settings()
    return CrmClient(settings.sandbox_url, settings.http_timeout)


@lru_cache(maxsize=1)
def orders_client() -> OrdersClient:
    """The process's order-management client, configured from settings."""
    settings = get_settings()
    return OrdersClient(settings.sandbox_url, settings.http_timeout)


@lru_cache(maxsize=1)
def billing_client() -> BillingClient:
    """The process's billing client, configured from settings."""
    settings = get_settings()
    return BillingClient(settings.sandbox_url, settings.http_timeout)

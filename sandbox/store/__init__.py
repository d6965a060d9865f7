"""Queries and writes of the CRM, order and billing systems.

Every function takes an open session, runs in a worker thread, and returns
JSON-ready dicts (built while the session is open) or raises
:class:`~sandbox.errors.ApiError`. One module per system, as the HTTP routes of
:mod:`sandbox.api`:

* :mod:`sandbox.store.crm`: customers, identity checks, contacts, password resets,
  account changes;
* :mod:`sandbox.store.orders`: orders, cancellation, return;
* :mod:`sandbox.store.billing`: invoices, charges, disputes;
* :mod:`sandbox.store.queries`: the prepared statements and JSON builders they share.
"""

from __future__ import annotations

from sandbox.store.billing import (
    customer_charges,
    customer_disputes,
    customer_invoices,
    get_invoice,
    open_dispute,
)
from sandbox.store.crm import (
    RESET_LINK_LIFETIME,
    add_contact,
    customer_contacts,
    customer_password_resets,
    erase_contacts,
    find_customers,
    get_customer,
    request_password_reset,
    update_customer,
    verify_customer,
)
from sandbox.store.orders import cancel_order, customer_orders, get_order, return_order
from sandbox.store.queries import normalize_email, normalize_zip

__all__ = [
    "RESET_LINK_LIFETIME",
    "add_contact",
    "cancel_order",
    "customer_charges",
    "customer_contacts",
    "erase_contacts",
    "customer_disputes",
    "customer_invoices",
    "customer_orders",
    "customer_password_resets",
    "find_customers",
    "get_customer",
    "get_invoice",
    "get_order",
    "normalize_email",
    "normalize_zip",
    "open_dispute",
    "request_password_reset",
    "return_order",
    "update_customer",
    "verify_customer",
]

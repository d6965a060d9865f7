"""Reading the sandbox over HTTP, and taking an order no other test of a module used."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import requests


def sandbox_get(sandbox: Any, path: str) -> dict:
    """``GET path`` on the running sandbox, as JSON (raises on an error status)."""
    response = requests.get(f"{sandbox.url}{path}", timeout=10)
    response.raise_for_status()
    return response.json()


def take_cancellable_order(sandbox: Any, customers: Iterable[int], taken: set[str]) -> dict:
    """The first cancellable order between $20 and $250 of ``customers`` (``C<number>``)
    not in ``taken``, which it is added to; the test fails when none is left."""
    for number in customers:
        for order in sandbox_get(sandbox, f"/crm/customers/C{number}/orders")["orders"]:
            if (
                order["id"] not in taken
                and order["cancellable"]
                and order["state"] in ("placed", "paid")
                and 20 < float(order["total"]) <= 250
            ):
                taken.add(order["id"])
                return order
    pytest.fail("the sandbox has no cancellable order left for this test")

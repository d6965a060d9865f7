"""Connectors against the real sandbox over HTTP: answers, timeouts, errors."""

from __future__ import annotations

import pytest

from frontline.connectors import CrmClient, OrdersClient
from frontline.connectors.http import JsonServiceClient
from frontline.errors import BackendRejected, BackendUnavailable, NotFound
from frontline.writes.registry import executing
from tests.support.processes import free_port


@pytest.fixture
async def crm(sandbox):
    client = CrmClient(sandbox.url, 1.0)
    yield client
    await client.close()


@pytest.fixture
async def orders(sandbox):
    client = OrdersClient(sandbox.url, 1.0)
    yield client
    await client.close()


async def test_verify_customer_by_email_and_zip(crm):
    customer = await crm.verify_customer("jane.doe@example.com", zip_code="94107")
    assert customer["id"] == "C1001"


async def test_verify_customer_with_the_wrong_zip_is_none(crm):
    assert await crm.verify_customer("jane.doe@example.com", zip_code="10001") is None


async def test_unknown_order_is_not_found(orders):
    with pytest.raises(NotFound):
        await orders.get_order("999999")


async def test_cancelling_a_shipped_order_is_rejected_with_409(orders):
    # A connector write runs only inside the write path's scope (frontline/writes).
    with pytest.raises(BackendRejected) as caught, executing("cancel_order"):
        await orders.cancel_order("482913", idempotency_key="connector-test-409")
    assert caught.value.status == 409 and caught.value.body["state"] == "shipped"


async def test_a_slow_backend_times_out(orders, sandbox_faults):
    sandbox_faults(latency_ms=1500, path_prefix="/orders")
    with pytest.raises(BackendUnavailable, match="timed out"):
        await orders.get_order("482913")


async def test_a_5xx_is_unavailable(crm, sandbox_faults):
    sandbox_faults(error_status=503, error_rate=1.0, path_prefix="/crm")
    with pytest.raises(BackendUnavailable, match="503"):
        await crm.get_customer("C1001")


async def test_a_refused_connection_is_unavailable():
    client = JsonServiceClient(f"http://127.0.0.1:{free_port()}", 1.0)
    with pytest.raises(BackendUnavailable, match="unreachable"):
        await client.request("GET", "/health")
    await client.close()

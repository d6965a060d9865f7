"""The HTTP API of the sandbox, over real HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
MONEY = re.compile(r"\d+\.\d{2}")


def _key() -> str:
    return f"test-{uuid.uuid4()}"


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


# -- basics --------------------------------------------------------------------------------


def test_health(api) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_unknown_route_and_method(api) -> None:
    _assert_error(api.get("/no/such/route"), 404, "not_found")
    _assert_error(api.delete("/orders/482913"), 405, "method_not_allowed")


def test_malformed_json_is_rejected(api) -> None:
    headers = {"Content-Type": "application/json", "Idempotency-Key": _key()}
    _assert_error(api.post("/crm/verify", data=b"{not json"), 400, "invalid_json")
    _assert_error(api.post("/crm/verify", data=b"\xff\xfe"), 400, "invalid_json")
    _assert_error(
        api.post("/orders/482914/cancel", data=b"{", headers=headers), 400, "invalid_json"
    )
    _assert_error(api.post("/crm/verify", json=["a", "list"]), 400, "invalid_request")


def test_huge_body_is_rejected(api) -> None:
    body = b'{"email": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = api.post("/crm/verify", data=body, headers={"Content-Type": "application/json"})
    _assert_error(response, 413, "payload_too_large")
    assert api.get("/health").status_code == 200  # the server shrugged it off


# -- CRM -----------------------------------------------------------------------------------


def test_customer_record(api) -> None:
    response = api.get("/crm/customers/C1001")
    assert response.status_code == 200
    assert response.json() == {
        "id": "C1001",
        "name": "Jane Doe",
        "email": "jane.doe@example.com",
        "phone": "+1 415 555 0134",
        "zip_code": "94107",
        "tier": "gold",
        "channel_ids": {"slack": "U0JANEDOE1", "web": None},
        "shipping_address": "500 Howard St, Apt 4B, San Francisco, CA 94107",
        "created_at": "2023-04-18T10:21:00Z",
    }
    _assert_error(api.get("/crm/customers/C9999"), 404, "customer_not_found")


def test_find_customers_by_email(api) -> None:
    found = api.get("/crm/customers", params={"email": "  Omar.Haddad@EXAMPLE.com "}).json()
    assert [customer["id"] for customer in found["customers"]] == ["C1002"]
    assert api.get("/crm/customers", params={"email": "nobody@example.com"}).json() == {
        "customers": []
    }
    _assert_error(api.get("/crm/customers"), 400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        {"email": "jane.doe@example.com", "zip_code": "94107"},
        {"email": "JANE.DOE@Example.com", "zip_code": "94107"},
        {"email": "jane.doe@example.com", "order_id": "482913"},
        {"email": "jane.doe@example.com", "order_id": 482913},
        {"email": "jane.doe@example.com", "order_id": "482913", "zip_code": "00000"},
        {"email": "jane.doe@example.com", "order_id": "999999", "zip_code": "94107-1234"},
    ],
)
def test_verify_succeeds(api, body: dict) -> None:
    response = api.post("/crm/verify", json=body)
    assert response.status_code == 200
    result = response.json()
    assert result["verified"] is True
    assert result["customer"]["id"] == "C1001"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "someone.else@example.com", "zip_code": "94107"},  # wrong e-mail
        {"email": "jane.doe@example.com", "zip_code": "10001"},  # wrong ZIP
        {"email": "jane.doe@example.com", "order_id": "551200"},  # Omar's order
        {"email": "jane.doe@example.com", "order_id": "999999"},  # no such order
        {"email": "omar.haddad@example.com", "order_id": "482913", "zip_code": "94107"},
    ],
)
def test_verify_fails_without_saying_why(api, body: dict) -> None:
    response = api.post("/crm/verify", json=body)
    assert response.status_code == 200
    assert response.json() == {"verified": False}


@pytest.mark.parametrize(
    "body",
    [
        {"zip_code": "94107"},
        {"email": "jane.doe@example.com"},
        {"email": "jane.doe@example.com", "order_id": None, "zip_code": None},
        {"email": "", "zip_code": "94107"},
        {"email": ["jane.doe@example.com"], "zip_code": "94107"},
        {"email": "jane.doe@example.com", "zip_code": 94107},
        {"email": "jane.doe@example.com", "order_id": True},
    ],
)
def test_verify_rejects_incomplete_requests(api, body: dict) -> None:
    _assert_error(api.post("/crm/verify", json=body), 400, "invalid_request")


# -- orders --------------------------------------------------------------------------------


def test_order_json(fresh_api) -> None:
    response = fresh_api.get("/orders/482913")
    assert response.status_code == 200
    order = response.json()
    assert set(order) == {
        "id",
        "customer_id",
        "state",
        "cancellable",
        "placed_at",
        "updated_at",
        "items",
        "total",
        "currency",
        "shipment",
        "cancelled_at",
        "returned_at",
    }
    assert order["id"] == "482913" and order["customer_id"] == "C1001"
    assert order["state"] == "shipped" and order["cancellable"] is False
    assert ISO_UTC.fullmatch(order["placed_at"]) and ISO_UTC.fullmatch(order["updated_at"])
    assert order["currency"] == "USD" and MONEY.fullmatch(order["total"])
    assert order["items"] and all(
        set(item) == {"sku", "name", "quantity", "unit_price"} for item in order["items"]
    )
    total = sum(int(i["unit_price"].replace(".", "")) * i["quantity"] for i in order["items"])
    assert int(order["total"].replace(".", "")) == total
    shipment = order["shipment"]
    assert set(shipment) == {
        "carrier",
        "tracking_number",
        "tracking_url",
        "shipped_at",
        "estimated_delivery",
        "delivered_at",
    }
    assert shipment["tracking_number"] in shipment["tracking_url"]
    assert ISO_UTC.fullmatch(shipment["shipped_at"]) and shipment["delivered_at"] is None
    assert order["cancelled_at"] is None and order["returned_at"] is None

    paid = fresh_api.get("/orders/482914").json()
    assert paid["state"] == "paid" and paid["cancellable"] is True and paid["shipment"] is None
    assert paid["items"][0]["unit_price"] == "59.90"
    assert fresh_api.get("/orders/551200").json()["cancellable"] is False  # packed
    assert fresh_api.get("/orders/551202").json()["returned_at"] is not None
    _assert_error(fresh_api.get("/orders/000000"), 404, "order_not_found")


def test_customer_orders_newest_first(fresh_api) -> None:
    orders = fresh_api.get("/crm/customers/C1001/orders").json()["orders"]
    assert [order["id"] for order in orders] == ["482916", "482914", "482913", "482915", "482917"]
    assert [order["placed_at"] for order in orders] == sorted(
        (order["placed_at"] for order in orders), reverse=True
    )
    _assert_error(fresh_api.get("/crm/customers/C9999/orders"), 404, "customer_not_found")


# -- cancellation and idempotency ----------------------------------------------------------


def test_cancel_paid_order(fresh_api) -> None:
    before = fresh_api.get("/orders/482914").json()
    response = fresh_api.post(
        "/orders/482914/cancel",
        json={"reason": "changed my mind"},
        headers={"Idempotency-Key": _key()},
    )
    assert response.status_code == 200, response.text
    assert "Idempotent-Replayed" not in response.headers
    order = response.json()["order"]
    assert order["state"] == "cancelled" and order["cancellable"] is False
    assert ISO_UTC.fullmatch(order["cancelled_at"])
    assert order["updated_at"] == order["cancelled_at"] > before["updated_at"]
    assert fresh_api.get("/orders/482914").json() == order

    invoices = fresh_api.get("/billing/customers/C1001/invoices").json()["invoices"]
    invoice = next(invoice for invoice in invoices if invoice["order_id"] == "482914")
    assert invoice["status"] == "refunded" and invoice["refunded_at"] == order["cancelled_at"]
    assert response.json()["refund"] == {
        "invoice_id": invoice["id"],
        "amount": invoice["amount"],
        "currency": "USD",
    }


def test_cancel_placed_order_without_body(fresh_api) -> None:
    response = fresh_api.post("/orders/630001/cancel", headers={"Idempotency-Key": _key()})
    assert response.status_code == 200, response.text
    assert response.json()["order"]["state"] == "cancelled"
    assert response.json()["refund"] is None  # nothing was paid
    invoices = fresh_api.get("/billing/customers/C1003/invoices").json()["invoices"]
    assert next(i for i in invoices if i["order_id"] == "630001")["status"] == "void"


@pytest.mark.parametrize("order_id", ["482913", "551200", "482915", "482917", "551202"])
def test_cancel_refused_in_later_states(fresh_api, order_id: str) -> None:
    before = fresh_api.get(f"/orders/{order_id}").json()
    response = fresh_api.post(f"/orders/{order_id}/cancel", headers={"Idempotency-Key": _key()})
    body = _assert_error(response, 409, "not_cancellable")
    assert body["state"] == before["state"]
    assert fresh_api.get(f"/orders/{order_id}").json() == before


def test_cancel_reason_must_be_text(fresh_api) -> None:
    headers = {"Idempotency-Key": _key()}
    response = fresh_api.post("/orders/482914/cancel", json={"reason": 5}, headers=headers)
    _assert_error(response, 400, "invalid_request")
    response = fresh_api.post("/orders/482914/cancel", json=["x"], headers=headers)
    _assert_error(response, 400, "invalid_request")
    assert fresh_api.get("/orders/482914").json()["state"] == "paid"


def test_cancel_unknown_order(api) -> None:
    response = api.post("/orders/999998/cancel", headers={"Idempotency-Key": _key()})
    _assert_error(response, 404, "order_not_found")


def test_cancel_requires_idempotency_key(fresh_api) -> None:
    _assert_error(fresh_api.post("/orders/482914/cancel", json={}), 400, "idempotency_key_required")
    response = fresh_api.post("/orders/482914/cancel", headers={"Idempotency-Key": "x" * 300})
    _assert_error(response, 400, "invalid_request")
    assert fresh_api.get("/orders/482914").json()["state"] == "paid"


def test_replay_returns_first_result_and_changes_nothing(fresh_api) -> None:
    key = _key()
    first = fresh_api.post(
        "/orders/482916/cancel", json={"reason": "x"}, headers={"Idempotency-Key": key}
    )
    assert first.status_code == 200
    after_first = fresh_api.get("/orders/482916").json()

    replay = fresh_api.post(
        "/orders/482916/cancel", json={"reason": "x"}, headers={"Idempotency-Key": key}
    )
    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    assert fresh_api.get("/orders/482916").json() == after_first  # updated_at unchanged

    # A new key is a new attempt: the order is already cancelled now.
    again = fresh_api.post(
        "/orders/482916/cancel", json={"reason": "x"}, headers={"Idempotency-Key": _key()}
    )
    _assert_error(again, 409, "not_cancellable")


def test_refusals_are_replayed_too(fresh_api) -> None:
    key = _key()
    first = fresh_api.post("/orders/482913/cancel", headers={"Idempotency-Key": key})
    replay = fresh_api.post("/orders/482913/cancel", headers={"Idempotency-Key": key})
    _assert_error(first, 409, "not_cancellable")
    assert replay.status_code == 409 and replay.content == first.content
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_key_reused_for_another_request(fresh_api) -> None:
    key = _key()
    assert (
        fresh_api.post(
            "/orders/551203/cancel", json={"reason": "a"}, headers={"Idempotency-Key": key}
        ).status_code
        == 200
    )
    other_body = fresh_api.post(
        "/orders/551203/cancel", json={"reason": "b"}, headers={"Idempotency-Key": key}
    )
    _assert_error(other_body, 422, "idempotency_key_reused")
    other_path = fresh_api.post(
        "/orders/630001/cancel", json={"reason": "a"}, headers={"Idempotency-Key": key}
    )
    _assert_error(other_path, 422, "idempotency_key_reused")
    assert fresh_api.get("/orders/630001").json()["state"] == "placed"


def test_concurrent_requests_with_one_key_cancel_once(fresh_api) -> None:
    key, clients = _key(), 8
    before = fresh_api.get("/orders/551203").json()
    barrier = threading.Barrier(clients)

    def cancel(_: int):
        barrier.wait(timeout=10)
        return fresh_api.post(
            "/orders/551203/cancel", json={"reason": "dup"}, headers={"Idempotency-Key": key}
        )

    with ThreadPoolExecutor(clients) as pool:
        responses = list(pool.map(cancel, range(clients)))

    ok = [r for r in responses if r.status_code == 200]
    assert all(r.status_code in (200, 409) for r in responses), [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"] == "request_in_progress"
    fresh = [r for r in ok if "Idempotent-Replayed" not in r.headers]
    assert len(fresh) == 1
    assert all(r.content == fresh[0].content for r in ok)
    after = fresh_api.get("/orders/551203").json()
    assert before["state"] == "paid" and after["state"] == "cancelled"
    assert after == fresh[0].json()["order"]


def test_concurrent_cancels_with_different_keys_cancel_once(fresh_api) -> None:
    clients = 6
    barrier = threading.Barrier(clients)

    def cancel(_: int):
        barrier.wait(timeout=10)
        return fresh_api.post("/orders/482914/cancel", headers={"Idempotency-Key": _key()})

    with ThreadPoolExecutor(clients) as pool:
        statuses = sorted(response.status_code for response in pool.map(cancel, range(clients)))
    assert statuses == [200] + [409] * (clients - 1)


# -- billing -------------------------------------------------------------------------------


def test_invoices_and_charges(fresh_api) -> None:
    invoices = fresh_api.get("/billing/customers/C1003/invoices").json()["invoices"]
    assert [invoice["order_id"] for invoice in invoices] == ["630001", "630002", "630003"]
    duplicate = invoices[2]
    assert duplicate["status"] == "paid" and MONEY.fullmatch(duplicate["amount"])
    assert len(duplicate["charges"]) == 2
    assert {charge["amount"] for charge in duplicate["charges"]} == {duplicate["amount"]}
    assert invoices[0]["charges"] == [] and invoices[0]["status"] == "open"

    invoice = fresh_api.get(f"/billing/invoices/{duplicate['id']}").json()
    assert invoice == duplicate
    _assert_error(fresh_api.get("/billing/invoices/INV-0"), 404, "invoice_not_found")

    charges = fresh_api.get("/billing/customers/C1003/charges").json()["charges"]
    assert len(charges) == 3
    assert [c["created_at"] for c in charges] == sorted(
        (c["created_at"] for c in charges), reverse=True
    )
    for charge in charges:
        assert set(charge) == {
            "id",
            "invoice_id",
            "order_id",
            "customer_id",
            "amount",
            "currency",
            "card_brand",
            "card_last4",
            "created_at",
            "description",
        }
        assert re.fullmatch(r"\d{4}", charge["card_last4"])
        assert not re.search(r"\d{12,}", str(charge))  # no card number anywhere
    _assert_error(fresh_api.get("/billing/customers/C9999/charges"), 404, "customer_not_found")
    _assert_error(fresh_api.get("/billing/customers/C9999/invoices"), 404, "customer_not_found")

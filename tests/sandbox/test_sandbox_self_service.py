"""Self-service writes of the sandbox: returns, disputes, password resets, account changes.

Each runs over real HTTP on SQLite and on PostgreSQL, on freshly reset data, and
checks the backend state after the write (and after a replayed write).
"""

from __future__ import annotations

import re
import uuid

import pytest

ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")


def _key() -> str:
    return f"test-{uuid.uuid4()}"


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code and body["message"]
    return body


# -- returns -------------------------------------------------------------------------------


def test_return_a_delivered_order_refunds_its_invoice(fresh_api) -> None:
    key = _key()
    response = fresh_api.post(
        "/orders/551201/return", json={"reason": "too small"}, headers={"Idempotency-Key": key}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    order, authorisation = body["order"], body["return"]
    assert order["state"] == "returned" and ISO_UTC.fullmatch(order["returned_at"])
    assert authorisation["id"].startswith("RMA-") and authorisation["order_id"] == "551201"
    assert authorisation["reason"] == "too small"
    assert authorisation["label_url"].endswith(authorisation["id"])
    assert authorisation["refund"] == {
        "amount": "122.00",
        "currency": "USD",
        "card_brand": "mastercard",
        "card_last4": "5454",
    }
    [invoice] = [
        i
        for i in fresh_api.get("/billing/customers/C1002/invoices").json()["invoices"]
        if i["order_id"] == "551201"
    ]
    assert invoice["status"] == "refunded" and invoice["refunded_at"] == order["returned_at"]

    replay = fresh_api.post(
        "/orders/551201/return", json={"reason": "too small"}, headers={"Idempotency-Key": key}
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == body
    # A new key for the same order: the order system refuses, nothing changes twice.
    again = fresh_api.post("/orders/551201/return", headers={"Idempotency-Key": _key()})
    assert _error(again, 409, "not_returnable")["state"] == "returned"


@pytest.mark.parametrize("order_id, state", [("482913", "shipped"), ("482914", "paid")])
def test_only_delivered_orders_can_be_returned(fresh_api, order_id: str, state: str) -> None:
    response = fresh_api.post(f"/orders/{order_id}/return", headers={"Idempotency-Key": _key()})
    assert _error(response, 409, "not_returnable")["state"] == state
    assert fresh_api.get(f"/orders/{order_id}").json()["state"] == state


def test_return_needs_a_key_and_a_known_order(api) -> None:
    _error(api.post("/orders/482915/return"), 400, "idempotency_key_required")
    _error(
        api.post("/orders/999999/return", headers={"Idempotency-Key": _key()}),
        404,
        "order_not_found",
    )


# -- disputes ------------------------------------------------------------------------------


def test_dispute_a_duplicate_charge(fresh_api) -> None:
    [invoice] = [
        i
        for i in fresh_api.get("/billing/customers/C1003/invoices").json()["invoices"]
        if i["id"] == "INV-100012"
    ]
    duplicate = invoice["charges"][1]
    key = _key()
    body = {"reason": "duplicate", "note": "charged twice, 47 s apart"}
    response = fresh_api.post(
        f"/billing/charges/{duplicate['id']}/disputes", json=body, headers={"Idempotency-Key": key}
    )
    assert response.status_code == 201, response.text
    dispute = response.json()["dispute"]
    assert dispute["charge_id"] == duplicate["id"] and dispute["invoice_id"] == "INV-100012"
    assert dispute["amount"] == duplicate["amount"] and dispute["status"] == "open"
    assert dispute["reason"] == "duplicate" and dispute["customer_id"] == "C1003"

    replay = fresh_api.post(
        f"/billing/charges/{duplicate['id']}/disputes", json=body, headers={"Idempotency-Key": key}
    )
    assert replay.json()["dispute"] == dispute
    again = fresh_api.post(
        f"/billing/charges/{duplicate['id']}/disputes",
        json=body,
        headers={"Idempotency-Key": _key()},
    )
    assert _error(again, 409, "already_disputed")["dispute_id"] == dispute["id"]
    assert fresh_api.get("/billing/customers/C1003/disputes").json()["disputes"] == [dispute]


def test_dispute_validation(api) -> None:
    headers = {"Idempotency-Key": _key()}
    _error(
        api.post(
            "/billing/charges/ch_nope/disputes", json={"reason": "duplicate"}, headers=headers
        ),
        404,
        "charge_not_found",
    )
    _error(
        api.post("/billing/charges/ch_nope/disputes", json={"reason": "meh"}, headers=headers),
        400,
        "invalid_request",
    )


# -- password resets -----------------------------------------------------------------------


def test_password_reset_is_sent_to_the_address_on_file_once(fresh_api) -> None:
    key = _key()
    response = fresh_api.post(
        "/crm/customers/C1001/password-resets",
        json={"requested_via": "assistant"},
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 201, response.text
    reset = response.json()["password_reset"]
    assert reset["sent_to"] == "jane.doe@example.com" and reset["requested_via"] == "assistant"
    assert reset["expires_at"] > reset["created_at"]
    fresh_api.post(
        "/crm/customers/C1001/password-resets",
        json={"requested_via": "assistant"},
        headers={"Idempotency-Key": key},
    )
    assert fresh_api.get("/crm/customers/C1001/password-resets").json() == {
        "password_resets": [reset]
    }
    _error(
        fresh_api.post("/crm/customers/C9999/password-resets", headers={"Idempotency-Key": _key()}),
        404,
        "customer_not_found",
    )


# -- account changes -----------------------------------------------------------------------


def test_change_email_phone_and_address(fresh_api) -> None:
    before = fresh_api.get("/crm/customers/C1002").json()
    assert before["shipping_address"] == "350 W 31st St, New York, NY 10001"
    changes = {
        "email": "omar.h@example.org",
        "phone": "+1 646 555 0101",
        "shipping_address": "12  Elm St,  Brooklyn, NY 11201",
    }
    key = _key()
    response = fresh_api.patch(
        "/crm/customers/C1002", json=changes, headers={"Idempotency-Key": key}
    )
    assert response.status_code == 200, response.text
    assert response.json()["changed"] == ["email", "phone", "shipping_address"]
    after = fresh_api.get("/crm/customers/C1002").json()
    assert after == before | {
        "email": "omar.h@example.org",
        "phone": "+1 646 555 0101",
        "shipping_address": "12 Elm St, Brooklyn, NY 11201",
    }
    # The new address now verifies the customer; the old one no longer does.
    verify = {"email": "omar.h@example.org", "zip_code": "10001"}
    assert fresh_api.post("/crm/verify", json=verify).json()["verified"] is True
    old = {"email": "omar.haddad@example.com", "zip_code": "10001"}
    assert fresh_api.post("/crm/verify", json=old).json() == {"verified": False}
    replay = fresh_api.patch("/crm/customers/C1002", json=changes, headers={"Idempotency-Key": key})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert fresh_api.get("/crm/customers/C1002").json() == after


def test_account_change_validation(fresh_api) -> None:
    def patch(body: dict):
        return fresh_api.patch(
            "/crm/customers/C1001", json=body, headers={"Idempotency-Key": _key()}
        )

    _error(patch({"email": "omar.haddad@example.com"}), 409, "email_taken")
    _error(patch({"email": "not-an-address"}), 400, "invalid_request")
    _error(patch({"phone": "call me"}), 400, "invalid_request")
    _error(patch({"tier": "gold"}), 400, "invalid_request")
    _error(patch({}), 400, "invalid_request")
    _error(
        fresh_api.patch("/crm/customers/C1001", json={"phone": "+1 415 555 0100"}),
        400,
        "idempotency_key_required",
    )
    assert patch({"phone": "+1 415 555 0134"}).json()["changed"] == []  # the same value
    assert fresh_api.get("/crm/customers/C1001").json()["email"] == "jane.doe@example.com"

"""The sandbox's answers to customers' follow-up questions: deliveries, refunds, payments,
invoice copies. Over real HTTP on SQLite and PostgreSQL, checked against backend state.
"""

from __future__ import annotations

import uuid


def _key() -> str:
    return f"test-{uuid.uuid4()}"


def test_an_order_has_the_delivery_date_promised_and_its_parcel(api) -> None:
    late = api.get("/orders/630002/delivery").json()
    assert late["order_id"] == "630002" and late["customer_id"] == "C1003"
    assert late["state"] == "shipped" and late["promised_by"] == "2026-10-30T20:00:00Z"
    assert late["shipment"]["estimated_delivery"] == "2026-11-04T20:00:00Z"
    # An order that has not shipped is promised five days after it was placed.
    packed = api.get("/orders/551200/delivery").json()
    assert packed["promised_by"] == "2026-11-04T20:00:00Z" and packed["shipment"] is None
    missing = api.get("/orders/000000/delivery")
    assert missing.status_code == 404 and missing.json()["error"] == "order_not_found"


def test_refunds_have_a_state_a_card_and_dates(api) -> None:
    [refund] = api.get("/billing/customers/C1002/refunds").json()["refunds"]
    assert refund == {
        "id": "RF-100008",
        "order_id": "551202",
        "invoice_id": "INV-100008",
        "customer_id": "C1002",
        "amount": "69.00",
        "currency": "USD",
        "method": "card",
        "card_brand": "mastercard",
        "card_last4": "5454",
        "state": "issued",
        "issued_at": "2026-09-20T09:00:00Z",
        "expected_at": "2026-09-27T09:00:00Z",
        "completed_at": None,
    }
    [done] = api.get("/billing/customers/C1001/refunds").json()["refunds"]
    assert done["order_id"] == "482917" and done["state"] == "completed"
    assert done["completed_at"] == "2026-09-18T22:40:00Z"
    unknown = api.get("/billing/customers/C9999/refunds")
    assert unknown.status_code == 404 and unknown.json()["error"] == "customer_not_found"


def test_a_return_issues_a_refund_expected_a_week_later(fresh_api) -> None:
    answer = fresh_api.post("/orders/551201/return", headers={"Idempotency-Key": _key()})
    assert answer.status_code == 200, answer.text
    refunds = fresh_api.get("/billing/customers/C1002/refunds").json()["refunds"]
    newest = refunds[0]
    assert [r["order_id"] for r in refunds] == ["551201", "551202"]
    assert newest["state"] == "issued" and newest["amount"] == "122.00"
    assert newest["issued_at"] == answer.json()["order"]["returned_at"]
    assert newest["card_last4"] == "5454" and newest["expected_at"] > newest["issued_at"]


def test_payment_attempts_show_pending_and_declined_payments(api) -> None:
    jane = api.get("/billing/customers/C1001/payments").json()["payments"]
    assert (jane[0]["order_id"], jane[0]["state"]) == ("482916", "pending")
    assert all(p["state"] == "succeeded" for p in jane[1:])
    li = api.get("/billing/customers/C1003/payments").json()["payments"]
    declined = [p for p in li if p["order_id"] == "630001"]
    assert [(p["state"], p["decline_code"], p["card_last4"]) for p in declined] == [
        ("declined", "insufficient_funds", "0005")
    ]


def test_an_invoice_copy_goes_to_the_address_on_file_once_per_key(fresh_api) -> None:
    invoice = fresh_api.get("/billing/customers/C1001/invoices").json()["invoices"][0]
    key = _key()
    sent = fresh_api.post(
        f"/billing/invoices/{invoice['id']}/email", headers={"Idempotency-Key": key}
    )
    assert sent.status_code == 201, sent.text
    copy = sent.json()["invoice_email"]
    assert copy["sent_to"] == "jane.doe@example.com" and copy["invoice_id"] == invoice["id"]
    replay = fresh_api.post(
        f"/billing/invoices/{invoice['id']}/email", headers={"Idempotency-Key": key}
    )
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == sent.json()
    recorded = fresh_api.get("/billing/customers/C1001/invoice-emails").json()["invoice_emails"]
    assert recorded == [copy]


def test_an_invoice_copy_needs_a_key_and_a_known_invoice(fresh_api) -> None:
    no_key = fresh_api.post("/billing/invoices/INV-100001/email")
    assert no_key.status_code == 400 and no_key.json()["message"]
    missing = fresh_api.post("/billing/invoices/INV-0/email", headers={"Idempotency-Key": _key()})
    assert missing.status_code == 404 and missing.json()["error"] == "invoice_not_found"
    assert fresh_api.get("/billing/customers/C1001/invoice-emails").json()["invoice_emails"] == []

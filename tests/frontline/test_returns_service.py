"""Returns and refunds: the policy's verdict (pure) and the write (against the real sandbox)."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import yaml

from frontline.connectors import BillingClient, OrdersClient
from frontline.policy import ReturnsPolicy, load_policy, returns_policy
from frontline.services.orders import idempotency_key
from frontline.services.returns import (
    ReturnDecision,
    ReturnOutcome,
    approval_rationale,
    assess_return,
    card_phrase,
    process_return,
    return_prompt,
)
from tests.support.consent import consented

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)  # the sandbox's "today"


def delivered(days_ago: float, total: str = "59.90", **extra) -> dict:
    at = (NOW - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")
    return {
        "id": "123456",
        "state": "delivered",
        "cancellable": False,
        "total": total,
        "currency": "USD",
        "items": [{"name": "Desk Mat XL", "quantity": 1}],
        "shipment": {"delivered_at": at},
        **extra,
    }


@pytest.fixture
def policy() -> ReturnsPolicy:
    return returns_policy()


def modified_policy(tmp_path: Path, **rules) -> ReturnsPolicy:
    """A copy of the returns policy with some rules changed (a designer's edit)."""
    (tmp_path / "schemas").mkdir()
    shutil.copy(ROOT / "policies/schemas/returns.schema.json", tmp_path / "schemas")
    document = yaml.safe_load((ROOT / "policies/returns.yml").read_text())
    for path, value in rules.items():
        section, key = path.split(".")
        document["rules"][section][key] = value
    (tmp_path / "returns.yml").write_text(yaml.safe_dump(document))
    return ReturnsPolicy(load_policy("returns", tmp_path))


def test_a_recent_small_return_is_taken_on(policy):
    assessment = assess_return(delivered(5), policy, NOW)
    assert assessment.decision is ReturnDecision.ELIGIBLE and assessment.rule is None
    assert assessment.variables["amount"] == "$59.90"
    assert assessment.variables["days_since_delivery"] == "5"


@pytest.mark.parametrize(
    "days_ago, decision",
    [(30.9, ReturnDecision.ELIGIBLE), (31.0, ReturnDecision.OUTSIDE_WINDOW)],
)
def test_the_window_counts_whole_days_after_delivery(policy, days_ago, decision):
    assert policy.window_days == 30
    assert assess_return(delivered(days_ago), policy, NOW).decision is decision


def test_the_limit_is_inclusive(policy):
    limit = str(policy.max_automatic_refund)
    assert assess_return(delivered(3, limit), policy, NOW).decision is ReturnDecision.ELIGIBLE
    above = assess_return(delivered(3, "125.01"), policy, NOW)
    assert above.decision is ReturnDecision.NEEDS_APPROVAL
    assert above.rule == "refund.max_automatic_amount"


def test_outside_the_window_needs_a_person_whatever_the_amount(policy):
    assessment = assess_return(delivered(45, "500.00"), policy, NOW)
    assert assessment.decision is ReturnDecision.OUTSIDE_WINDOW
    assert assessment.decision.needs_person and assessment.rule == "window.days"


@pytest.mark.parametrize(
    "state, cancellable, decision",
    [
        ("placed", True, ReturnDecision.CANCEL_INSTEAD),
        ("paid", True, ReturnDecision.CANCEL_INSTEAD),
        ("packed", False, ReturnDecision.NOT_DELIVERED),
        ("shipped", False, ReturnDecision.NOT_DELIVERED),
        ("returned", False, ReturnDecision.ALREADY_RETURNED),
        ("cancelled", False, ReturnDecision.CANCELLED),
    ],
)
def test_orders_that_are_not_delivered(policy, state, cancellable, decision):
    order = delivered(1) | {"state": state, "cancellable": cancellable, "shipment": None}
    assessment = assess_return(order, policy, NOW)
    assert assessment.decision is decision and not decision.needs_person
    assert assessment.response.startswith("utter_return_")


def test_limits_and_windows_are_data(tmp_path):
    """A designer lowers the limit and shortens the window: no code changes."""
    stricter = modified_policy(tmp_path, **{"refund.max_automatic_amount": "50.00"})
    assert assess_return(delivered(5), stricter, NOW).decision is ReturnDecision.NEEDS_APPROVAL
    assert stricter.rule_reference("window.days") == f"returns {stricter.version}, window.days"


def test_shorter_window_from_the_policy_file(tmp_path):
    shorter = modified_policy(tmp_path, **{"window.days": 3})
    assert assess_return(delivered(5), shorter, NOW).decision is ReturnDecision.OUTSIDE_WINDOW


def test_the_rationale_names_the_rule_and_asks_for_approval(policy):
    over = approval_rationale(assess_return(delivered(22, "138.90"), policy, NOW), policy)
    assert "$138.90" in over and "$125.00" in over
    assert f"returns {policy.version}, refund.max_automatic_amount" in over
    assert "approve or decline" in over
    late = approval_rationale(assess_return(delivered(34, "18.49"), policy, NOW), policy)
    assert "34 days ago" in late and "30-day return window" in late and "window.days" in late
    assert len(over) <= 300 and len(late) <= 300  # the packet's rationale limit


def test_cards_show_at_most_the_last_four_digits():
    assert card_phrase("visa", "4242") == "Visa card ending 4242"
    assert card_phrase("amex", "378282246310005") == "American Express card ending 0005"
    assert card_phrase("visa", None) is None


# -- against the sandbox ------------------------------------------------------------------


@pytest.fixture
async def clients(sandbox):
    orders, billing = OrdersClient(sandbox.url, 2.0), BillingClient(sandbox.url, 2.0)
    yield orders, billing
    await orders.close()
    await billing.close()


def sandbox_order(sandbox, order_id: str) -> dict:
    return requests.get(f"{sandbox.url}/orders/{order_id}", timeout=10).json()


async def test_the_prompt_names_the_card_by_its_last_four_digits(clients, sandbox, policy):
    orders, billing = clients
    assessment = assess_return(sandbox_order(sandbox, "551201"), policy, NOW)
    prompt = await return_prompt(billing, "C1002", assessment, policy)
    assert prompt["card"] == "Mastercard card ending 5454"
    assert prompt["amount"] == "$122.00" and prompt["delivered_on"] == "Tue 27 Oct"
    assert prompt["refund_days"] == "5"


async def test_without_a_yes_nothing_is_returned(clients, sandbox, policy):
    orders, _ = clients
    before = sandbox_order(sandbox, "720069")
    result = await process_return(
        orders,
        customer_id="C1054",
        order_id="720069",
        confirmed=False,
        policy=policy,
        now=NOW,
        idempotency_key=idempotency_key("svc-return-no", "return-order", "720069"),
        context=consented("svc-return-no", "utter_ask_return_confirmed", order_id="720069"),
    )
    assert result.outcome is ReturnOutcome.KEPT and result.response == "utter_return_kept"
    assert sandbox_order(sandbox, "720069") == before


async def test_a_yes_returns_and_refunds_once(clients, sandbox, policy):
    orders, _ = clients
    key = idempotency_key("svc-return-yes", "return-order", "720069")

    async def run():
        return await process_return(
            orders,
            customer_id="C1054",
            order_id="720069",
            confirmed=True,
            policy=policy,
            now=NOW,
            idempotency_key=key,
            context=consented("svc-return-yes", "utter_ask_return_confirmed", order_id="720069"),
        )

    first = await run()
    assert first.outcome is ReturnOutcome.RETURNED and first.response == "utter_return_done"
    assert first.variables["return_id"].startswith("RMA-")
    assert "$93.95 will be refunded to your American Express card ending 3371" in (
        first.variables["refund_note"]
    )
    assert sandbox_order(sandbox, "720069")["state"] == "returned"
    invoices = requests.get(f"{sandbox.url}/billing/customers/C1054/invoices", timeout=10).json()
    [invoice] = [i for i in invoices["invoices"] if i["order_id"] == "720069"]
    assert invoice["status"] == "refunded"

    again = await run()  # a redelivered "yes": the order system replays the first answer
    assert again.outcome is ReturnOutcome.RETURNED
    assert again.variables["return_id"] == first.variables["return_id"]


async def test_over_the_limit_is_refused_even_with_a_yes(clients, sandbox, policy):
    orders, _ = clients
    result = await process_return(
        orders,
        customer_id="C1001",
        order_id="482915",
        confirmed=True,
        policy=policy,
        now=NOW,
        idempotency_key=idempotency_key("svc-return-limit", "return-order", "482915"),
        context=consented("svc-return-limit", "utter_ask_return_confirmed", order_id="482915"),
    )
    assert result.outcome is ReturnOutcome.REFUSED
    assert result.assessment.decision is ReturnDecision.NEEDS_APPROVAL
    assert result.response == "utter_return_needs_approval"
    assert sandbox_order(sandbox, "482915")["state"] == "delivered"


async def test_someone_elses_order_is_not_found(clients, policy):
    orders, _ = clients
    result = await process_return(
        orders,
        customer_id="C1003",
        order_id="551201",
        confirmed=True,
        policy=policy,
        now=NOW,
        idempotency_key="k",
        context=consented("svc-k", "utter_ask_return_confirmed", order_id="551201"),
    )
    assert result.outcome is ReturnOutcome.NOT_FOUND


async def test_a_backend_that_is_down_changes_nothing(clients, sandbox_faults, policy):
    orders, _ = clients
    sandbox_faults(error_status=503, error_rate=1.0, path_prefix="/orders")
    result = await process_return(
        orders,
        customer_id="C1002",
        order_id="551201",
        confirmed=True,
        policy=policy,
        now=NOW,
        idempotency_key="svc-down",
        context=consented("svc-down", "utter_ask_return_confirmed", order_id="551201"),
    )
    assert result.outcome is ReturnOutcome.UNAVAILABLE and result.response == "utter_backend_error"

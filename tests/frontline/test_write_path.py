"""The one write path (frontline/writes): every backend write goes through it, and it
guards, writes once per key, reconciles timeouts and audits."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import pytest

from frontline.audit import AuditStore
from frontline.connectors import BillingClient, CrmClient, OrdersClient
from frontline.errors import BackendRejected, BackendTimeout, BackendUnavailable
from frontline.policy.registry import policies
from frontline.services.guardrails import WriteContext
from frontline.vocabulary import WRITES, Reason, Write
from frontline.writes import (
    WRITE_METHODS,
    WriteOutsidePath,
    WritePath,
    WriteRequest,
    WriteStatus,
)
from tests.support.consent import consented

CONNECTORS = (OrdersClient, CrmClient, BillingClient)
#: Connector calls that change a backend but are not customer-facing writes: the contact
#: history the CRM keeps of every conversation (no consent asked, nothing to undo).
BOOKKEEPING = {"CrmClient.record_contact"}


def test_every_write_of_the_policy_has_exactly_one_guarded_connector_method():
    served = [op for operations in WRITE_METHODS.values() for op in operations]
    assert sorted(served) == sorted(WRITES), "each write needs one @backend_write method"
    assert set(WRITES) == set(policies().escalation.writes)


def test_every_connector_method_that_changes_a_backend_is_guarded():
    for client in CONNECTORS:
        for name, method in inspect.getmembers(client, inspect.iscoroutinefunction):
            qualified = f"{client.__name__}.{name}"
            source = inspect.getsource(inspect.unwrap(method))
            # A change carries an idempotency key or a changing verb (the identity check
            # is a POST that changes nothing and sends no key).
            changes = "Idempotency-Key" in source or any(
                verb in source for verb in ('"PATCH"', '"PUT"', '"DELETE"')
            )
            if changes and qualified not in BOOKKEEPING:
                assert qualified in WRITE_METHODS, f"{qualified} writes but is not guarded"
                assert getattr(method, "__frontline_write__", None) == WRITE_METHODS[qualified]


@pytest.mark.parametrize("qualified", sorted(WRITE_METHODS))
async def test_a_connector_write_called_directly_is_refused_before_any_request(qualified):
    class_name, method_name = qualified.split(".")
    client_class = next(c for c in CONNECTORS if c.__name__ == class_name)
    client = client_class("http://127.0.0.1:9", 0.5)  # nothing listens: no request may leave
    method = getattr(client, method_name)
    arguments: dict[str, Any] = {"idempotency_key": "k"}
    positional = [p for p in inspect.signature(method).parameters.values() if p.default is p.empty]
    args = [
        {} if p.name == "changes" else "x" for p in positional if p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    with pytest.raises(WriteOutsidePath, match="through frontline.writes.WritePath"):
        await method(*args, **arguments)
    await client.close()


# -- the path itself, with a backend that does what each test needs ----------------


@dataclass
class Backend:
    """A write's backend: answers, or fails, in turn; records every key it saw."""

    answers: list[Any]
    keys: list[str] = field(default_factory=list)

    async def __call__(self, key: str) -> dict[str, Any]:
        self.keys.append(key)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def reset_request(context: WriteContext, backend: Backend, customer: str = "C1001") -> WriteRequest:
    return WriteRequest(
        Write.PASSWORD_RESET,
        context,
        customer_id=customer,
        subject=customer,
        idempotency_key="reset-key",
        perform=backend,
    )


def verified(customer: str = "C1001") -> WriteContext:
    context = consented("wp-1", "utter_ask_reset_confirmed", slots={"customer_id": customer})
    return WriteContext(context.conversation_id, context.channel, True, context.events, customer)


async def test_an_allowed_write_is_done_once_with_its_key():
    backend = Backend([{"id": "r1"}])
    result = await WritePath().execute(reset_request(verified(), backend))
    assert result.status is WriteStatus.DONE and result.answer == {"id": "r1"}
    assert backend.keys == ["reset-key"] and result.handoff_slots() == {}


async def test_a_write_without_server_side_verification_is_refused_and_not_sent():
    backend = Backend([{"id": "r1"}])
    unverified = WriteContext("wp-1", "rest", False, verified().events, None)
    result = await WritePath().execute(reset_request(unverified, backend))
    assert result.status is WriteStatus.REFUSED and backend.keys == []
    assert result.decision.rule_id == "escalation.writes.password_reset.verification"
    assert result.handoff_slots()["handoff_reason"] == Reason.POLICY


async def test_a_write_to_another_customers_account_is_refused():
    backend = Backend([{"id": "r1"}])
    result = await WritePath().execute(reset_request(verified("C1001"), backend, "C1002"))
    assert result.status is WriteStatus.REFUSED and backend.keys == []


async def test_a_timeout_is_reconciled_by_replaying_the_key():
    backend = Backend([BackendTimeout("timed out"), {"id": "r1"}])
    result = await WritePath().execute(reset_request(verified(), backend))
    assert result.status is WriteStatus.DONE and result.reconciled
    assert backend.keys == ["reset-key", "reset-key"]


async def test_a_write_still_unconfirmed_after_the_replay_is_an_unknown_outcome(
    sqlite_url, unique_name
):
    audit = AuditStore(sqlite_url, unique_name)
    backend = Backend([BackendTimeout("timed out"), BackendTimeout("timed out again")])
    result = await WritePath(audit=audit).execute(reset_request(verified(), backend))
    assert result.status is WriteStatus.OUTCOME_UNKNOWN
    assert result.response == "utter_write_outcome_unknown"
    assert result.handoff_slots() == {"handoff_reason": "outcome_unknown"}
    [record] = [r for r in audit.records() if r.kind == "write"]
    assert record.payload["outcome"] == "outcome_unknown"


async def test_a_failure_that_is_not_a_timeout_is_a_backend_error_without_replay():
    backend = Backend([BackendUnavailable("503")])
    result = await WritePath().execute(reset_request(verified(), backend))
    assert result.status is WriteStatus.BACKEND_ERROR and backend.keys == ["reset-key"]
    assert result.handoff_slots() == {"handoff_reason": "backend_error"}


async def test_the_backends_business_refusal_is_returned_to_the_service():
    backend = Backend([BackendRejected("no", 409, {"state": "shipped"})])
    result = await WritePath().execute(reset_request(verified(), backend))
    assert result.status is WriteStatus.REJECTED and result.error.status == 409
    assert result.handoff_slots() == {}

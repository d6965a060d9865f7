"""The policy modules: valid, versioned, consistent with the domain, loud when broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontline.errors import ConfigurationError
from frontline.policy.loading import load_policy
from frontline.policy.registry import MODULE_NAMES, load_policies
from frontline.policy_check import check_all
from tests.policy.conftest import ROOT, edit_policy, run_with_policies
from tests.support.domain import raw_domain

DOMAIN = raw_domain()


def test_every_module_is_valid_versioned_and_owned():
    assert check_all(ROOT / "policies") == []
    rules = load_policies(ROOT / "policies")
    assert set(rules.versions) == set(MODULE_NAMES)
    for name in MODULE_NAMES:
        module = load_policy(name, ROOT / "policies")
        assert module.owner and module.version.count(".") == 2


def test_responses_and_intents_named_by_policies_exist_in_the_domain():
    rules = load_policies(ROOT / "policies")
    responses = set(DOMAIN["responses"])
    intents = set(DOMAIN["intents"])
    for topic in rules.escalation.sensitive_topics:
        assert topic.response is None or topic.response in responses, topic.rule_id
    for consent in rules.consent.operations.values():
        assert consent.question in responses, consent.operation
    assert rules.consent.consent_intents <= intents
    assert rules.scope.self_service <= intents
    for restriction in rules.scope.restrictions:
        assert restriction.intents <= intents, restriction.rule_id
    for write in rules.escalation.writes.values():
        assert write.intent in intents, write.operation
    assert set(rules.escalation.frustration.intents) <= intents


def _broken(folder: Path, name: str, change) -> str:
    edit_policy(folder, name, change)
    problems = check_all(folder)
    assert problems, "the broken policy was accepted"
    return " ".join(problems)


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        (
            "escalation",
            lambda d: d["rules"]["sensitive_topics"][0]["patterns"].append("(unclosed"),
            "bad regular expression",
        ),
        (
            "escalation",
            lambda d: d["rules"]["fallback"].update(offer_human_after=5, handoff_after=3),
            "offer_human_after must not exceed handoff_after",
        ),
        (
            "escalation",
            lambda d: d["rules"]["writes"]["cancel_order"]["money_limit"].update(amount="lots"),
            "rules/writes/cancel_order/money_limit/amount",
        ),
        (
            "escalation",
            lambda d: d["rules"]["frustration"].update(rationale="score {nope}"),
            "bad placeholder",
        ),
        (
            "consent",
            lambda d: d["rules"]["operations"].update(
                refund_everything={"question": "utter_x", "subject": "order_id", "max_turns": 1}
            ),
            "does not declare: refund_everything",
        ),
        (
            "data_handling",
            lambda d: d["rules"]["fields"]["email"]["places"].update(packets="keep"),
            "accept only masked or dropped contact details",
        ),
        (
            "data_handling",
            lambda d: d["rules"]["fields"]["phone"]["keys"].append("email"),
            "'email' is also in",
        ),
        ("scope", lambda d: d.update(version="one"), "policy 'scope' is invalid at version"),
    ],
)
def test_a_broken_policy_fails_loudly(policies_copy, name, change, message):
    assert message in _broken(policies_copy, name, change)
    with pytest.raises(ConfigurationError):
        load_policies(policies_copy)


def test_a_missing_module_is_reported(policies_copy):
    (policies_copy / "consent.yml").unlink()
    assert any("'consent' is missing" in problem for problem in check_all(policies_copy))


def test_the_action_server_refuses_to_start_with_a_broken_policy(policies_copy):
    edit_policy(
        policies_copy,
        "escalation",
        lambda d: d["rules"]["verification"].update(max_attempts="three"),
    )
    result = run_with_policies(
        policies_copy, "-m", "frontline.action_server", "--actions", "actions", "--port", "0",
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "rules/verification/max_attempts" in result.stderr
    assert "does not start with broken policies" in result.stderr


def test_policy_check_command_exits_non_zero_on_a_broken_policy(policies_copy):
    edit_policy(policies_copy, "scope", lambda d: d["rules"].pop("self_service"))
    result = run_with_policies(policies_copy, "-m", "frontline.policy_check", timeout=60)
    assert result.returncode == 1
    assert "'self_service' is a required property" in result.stderr


def test_the_returns_flow_may_not_promise_more_than_the_guardrail_allows(policies_copy):
    edit_policy(
        policies_copy,
        "escalation",
        lambda d: d["rules"]["writes"]["return_order"]["money_limit"].update(amount="100.00"),
    )
    [problem] = check_all(policies_copy)
    assert "refunds up to 125.00 automatically, above the 100.00" in problem

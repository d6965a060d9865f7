"""``policies/flags.yml`` is checked at start-up like every policy module."""

from __future__ import annotations

import pytest

from frontline.errors import ConfigurationError
from frontline.flags.definitions import load_flags_policy
from frontline.policy_check import check_all
from tests.policy.conftest import POLICIES, edit_policy


def test_the_shipped_flags_cover_every_write_and_every_self_service_intent():
    from frontline.policy.registry import load_policies

    flags = load_flags_policy(POLICIES)
    rules = load_policies(POLICIES)
    assert set(flags.by_operation) == set(rules.escalation.writes)
    assert set(flags.by_intent) == set(rules.scope.self_service)
    assert all(flag.default for flag in flags.flags.values())  # nothing is off by default


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["rules"]["flags"]["write.cancel_order"].update(percentage=10),
            "flags/write.cancel_order",
        ),
        (
            lambda d: d["rules"]["flags"]["write.cancel_order"]["rules"].append(
                {"id": "pilot", "percentage": 120, "value": False}
            ),
            "flags/write.cancel_order/rules/0/percentage",
        ),
        (
            lambda d: d["rules"]["flags"]["contact.returns"]["intents"].append("cancel_order"),
            "cancel_order is also in contact.cancel_order",
        ),
        (
            lambda d: d["rules"]["flags"]["contact.returns"].update(operation="return_order"),
            "flags/contact.returns",
        ),
        (
            lambda d: d["rules"]["kill_switch"]["default_response"].update(
                messages="utter_something_else"
            ),
            "utter_something_else is not among kill_switch/responses",
        ),
        (
            lambda d: d["rules"]["capability_off"].update(rationale="Off: {flag}"),
            "capability_off/rationale: bad placeholder",
        ),
        (
            lambda d: d["rules"]["flags"]["write.cancel_order"]["rules"].extend(
                [{"id": "a", "value": False}, {"id": "a", "value": True}]
            ),
            "duplicate rule ids ['a']",
        ),
    ],
)
def test_a_broken_flags_file_is_refused(policies_copy, change, message):
    edit_policy(policies_copy, "flags", change)
    with pytest.raises(ConfigurationError, match="policy 'flags' is invalid") as raised:
        load_flags_policy(policies_copy)
    assert message in str(raised.value)
    assert any(message in problem for problem in check_all(policies_copy))


def test_policy_check_reports_a_write_without_a_flag_and_a_flag_for_an_unknown_intent(
    policies_copy,
):
    def change(document):
        del document["rules"]["flags"]["write.change_phone"]
        document["rules"]["flags"]["contact.teleport"] = {
            "description": "Teleportation.",
            "intents": ["teleport"],
            "default": True,
            "rules": [],
        }

    edit_policy(policies_copy, "flags", change)
    assert check_all(policies_copy) == [
        "policy 'flags' has no write.* flag for the write change_phone",
        "policy 'flags' has a contact flag for teleport, which policy 'scope' does not "
        "list as self-service",
    ]


def test_policy_check_requires_the_flags(policies_copy):
    (policies_copy / "flags.yml").unlink()
    assert check_all(policies_copy) == [f"policy 'flags' is missing from {policies_copy}"]

"""Flags by channel, tier and a sticky percentage, honoured over many synthetic customers.

Stated tolerance: a 10% rollout over 5,000 customers puts between 8% and 12% of them in
(the binomial standard deviation is 0.42 points, so +-2 points is almost 5 of them), and
every customer gets the same answer on every channel and in every conversation.
"""

from __future__ import annotations

import pytest

from frontline.flags.evaluation import FlagContext, bucket
from tests.flags.conftest import OPERATOR, FlagWorld, make_world
from tests.policy.conftest import copy_policies, edit_policy

CUSTOMERS = 5_000
CHANNELS = ("rest", "socketio", "slack")
TIERS = ("gold", "silver", "bronze")
SHARE, TOLERANCE = 0.10, 0.02


def customer(n: int) -> tuple[str, str]:
    """A synthetic customer's pseudonymous id and tier."""
    return f"S{n:05d}", TIERS[n % len(TIERS)]


def context(n: int, channel: str, conversation: str = "a") -> FlagContext:
    customer_id, tier = customer(n)
    return FlagContext(f"{customer_id}-{channel}-{conversation}", customer_id, channel, tier)


@pytest.fixture
def rollout_world(tmp_path) -> FlagWorld:
    """``contact.returns`` off by default: on for every gold customer, never on Slack, and
    for 10% of everyone else (rules in policies/flags.yml, first match wins)."""

    def rules(document):
        flag = document["rules"]["flags"]["contact.returns"]
        flag["default"] = False
        flag["rules"] = [
            {"id": "not_on_slack", "channels": ["slack"], "value": False},
            {"id": "gold_first", "tiers": ["gold"], "value": True},
            {"id": "ten_percent", "percentage": 10, "value": True},
        ]

    policies = edit_policy(copy_policies(tmp_path / "policies"), "flags", rules)
    return make_world("sqlite", f"sqlite:///{tmp_path / 'flags.db'}", policies)


def test_channel_tier_and_percentage_rules_over_5000_customers(rollout_world):
    flags = rollout_world.capabilities
    on: dict[str, set[int]] = {channel: set() for channel in CHANNELS}
    decided_by: dict[str, set[str]] = {}
    with flags.consistent_view():  # one read of the store for the 15,000 evaluations
        for n in range(CUSTOMERS):
            for channel in CHANNELS:
                evaluation = flags.is_enabled("contact.returns", context(n, channel))
                if evaluation.enabled:
                    on[channel].add(n)
                decided_by.setdefault(evaluation.rule or "default", set()).add(channel)
    assert not on["slack"]  # the channel rule comes first
    assert on["rest"] == on["socketio"]  # sticky across channels
    gold = {n for n in range(CUSTOMERS) if customer(n)[1] == "gold"}
    assert gold <= on["rest"]  # every gold customer
    others = [n for n in range(CUSTOMERS) if n not in gold]
    share = len(on["rest"] - gold) / len(others)
    assert SHARE - TOLERANCE <= share <= SHARE + TOLERANCE, share
    assert decided_by["flags.yml:not_on_slack"] == {"slack"}
    assert decided_by["flags.yml:ten_percent"] == {"rest", "socketio"}


def test_an_override_rollout_of_10_percent_over_5000_customers(sqlite_world):
    flags = sqlite_world.capabilities
    sqlite_world.admin.add_override(
        "write.cancel_order", False, OPERATOR, "cancellations by people for 10%", percentage=10
    )
    with flags.consistent_view():
        off_by_channel = {
            channel: {
                n
                for n in range(CUSTOMERS)
                if not flags.is_enabled("cancel_order", context(n, channel)).enabled
            }
            for channel in CHANNELS
        }
    assert off_by_channel["rest"] == off_by_channel["socketio"] == off_by_channel["slack"]
    share = len(off_by_channel["rest"]) / CUSTOMERS
    assert SHARE - TOLERANCE <= share <= SHARE + TOLERANCE, share
    # The same customer in another conversation, another day: the same answer.
    again = {
        n
        for n in range(CUSTOMERS)
        if not flags.is_enabled("cancel_order", context(n, "rest", conversation="b")).enabled
    }
    assert again == off_by_channel["rest"]


def test_an_override_for_a_channel_and_a_tier(sqlite_world):
    flags = sqlite_world.capabilities
    sqlite_world.admin.add_override(
        "write.change_phone", False, OPERATOR, "pilot", channels=["slack"], tiers=["bronze"]
    )
    for n in range(300):
        for channel in CHANNELS:
            evaluation = flags.is_enabled("change_phone", context(n, channel))
            expected_off = channel == "slack" and customer(n)[1] == "bronze"
            assert evaluation.enabled is not expected_off


def test_a_tier_segment_waits_for_verification(sqlite_world):
    sqlite_world.admin.add_override(
        "contact.invoices", False, OPERATOR, "gold customers to people", tiers=["gold"]
    )
    flags = sqlite_world.capabilities
    unverified = FlagContext("conv-1", channel="rest")
    assert flags.is_enabled("contact.invoices", unverified).enabled  # tier unknown yet
    verified = FlagContext("conv-1", customer_id="C1001", channel="rest", tier="gold")
    assert not flags.is_enabled("contact.invoices", verified).enabled


def test_before_verification_the_percentage_sticks_to_the_conversation(sqlite_world):
    sqlite_world.admin.add_override("contact.order_status", False, OPERATOR, "half", percentage=50)
    flags = sqlite_world.capabilities
    conversations = [FlagContext(f"anon-{n}", channel="rest") for n in range(400)]
    first = [flags.is_enabled("contact.order_status", c).enabled for c in conversations]
    second = [flags.is_enabled("contact.order_status", c).enabled for c in conversations]
    assert first == second  # each conversation keeps its answer
    assert 140 <= first.count(False) <= 260  # and about half are off
    anon = flags.is_enabled("contact.order_status", conversations[0])
    known = flags.is_enabled(
        "contact.order_status", FlagContext("anon-0", customer_id="C1001", channel="rest")
    )
    assert anon.targeting_key_hash != known.targeting_key_hash  # keyed on the customer now


def test_flags_roll_out_independently_and_a_wider_percentage_keeps_those_already_in():
    keys = [f"customer:S{n:05d}" for n in range(CUSTOMERS)]
    returns = {k for k in keys if bucket("contact.returns", k) < 50}
    invoices = {k for k in keys if bucket("contact.invoices", k) < 50}
    overlap = len(returns & invoices) / CUSTOMERS
    assert 0.22 <= overlap <= 0.28  # independent halves overlap on a quarter
    assert {k for k in keys if bucket("contact.returns", k) < 10} <= returns  # nested

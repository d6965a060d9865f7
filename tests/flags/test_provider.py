"""Our OpenFeature provider over every store: SQLite, PostgreSQL, PostgreSQL with Redis.

Each test sees the flags as two processes of one deployment would (two views over one
database); a change made through the admin must be seen by both at their next evaluation.
"""

from __future__ import annotations

import redis
from openfeature.flag_evaluation import Reason

from frontline.flags.capabilities import CAPABILITY_OFF, DEPENDENCY_DOWN, KILL_SWITCH
from frontline.flags.evaluation import FlagContext
from frontline.flags.provider import to_evaluation_context
from frontline.flags.signal import RedisChangeSignal, SqlChangeSignal
from frontline.flags.state import FlagState
from frontline.flags.store import SqlFlagStore
from tests.flags.conftest import OPERATOR, PSEUDONYMIZE, FlagWorld, capabilities_for

JANE = FlagContext("conv-jane-rest", customer_id="C1001", channel="rest", tier="gold")
JANE_ON_SLACK = FlagContext("conv-jane-slack", customer_id="C1001", channel="slack", tier="gold")
UNVERIFIED = FlagContext("conv-anon", channel="socketio")
#: A PostgreSQL port nothing listens on: a database that is down.
UNREACHABLE = "postgresql://postgres@127.0.0.1:9/down"


def test_everything_is_on_by_the_shipped_file(world: FlagWorld):
    for key in world.policy.flags:
        evaluation = world.capabilities.is_enabled(key, JANE)
        assert evaluation.enabled and evaluation.variant == "on" and evaluation.reason == "STATIC"
        assert evaluation.rule is None and evaluation.flags_version == world.policy.version
    assert world.capabilities.kill_switch(JANE).enabled


def test_an_override_is_seen_by_every_process_at_the_next_evaluation(world: FlagWorld):
    for process in (world.capabilities, world.other):
        assert process.is_enabled("contact.returns", JANE_ON_SLACK).enabled  # views warm
    override = world.admin.add_override(
        "contact.returns", False, OPERATOR, "returns on Slack go to people", channels=["slack"]
    )
    for process in (world.capabilities, world.other):
        off = process.is_enabled("contact.returns", JANE_ON_SLACK)
        assert (off.enabled, off.variant, off.reason) == (False, "off", Reason.TARGETING_MATCH)
        assert off.rule == f"override:{override.override_id}"
        assert off.handoff_reason == CAPABILITY_OFF
        assert off.response == world.policy.capability_off_response
        assert "Returns and refunds." in off.rationale
        assert process.is_enabled("contact.returns", JANE).enabled  # not on the web
    world.admin.remove_override(override.override_id, OPERATOR, "pilot over")
    for process in (world.capabilities, world.other):
        assert process.is_enabled("contact.returns", JANE_ON_SLACK).enabled


def test_the_kill_switch_modes_as_every_process_sees_them(world: FlagWorld):
    world.admin.set_kill_switch("writes", OPERATOR, "orders API returns errors")
    for process in (world.capabilities, world.other):
        write = process.is_enabled("cancel_order", JANE)
        assert (write.flag_key, write.enabled, write.reason) == (
            "write.cancel_order",
            False,
            Reason.DISABLED,
        )
        assert write.rule == "kill_switch:writes" and write.handoff_reason == KILL_SWITCH
        assert write.refusal_slots() == {
            "handoff_reason": "kill_switch",
            "escalation_rule": {
                "id": "flags.kill_switch.writes",
                "rationale": "The kill switch stops every autonomous write (orders API returns "
                "errors); a person makes this change.",
                "policy": "flags",
                "version": world.policy.version,
                "response": "utter_kill_switch_writes",
            },
        }
        assert process.is_enabled("contact.order_status", JANE).enabled  # reading goes on
        assert process.kill_switch(JANE).enabled  # messages still reach the assistant

    world.admin.set_kill_switch(
        "messages", OPERATOR, "major incident", response="utter_kill_switch_outage"
    )
    for process in (world.capabilities, world.other):
        switch = process.kill_switch(UNVERIFIED)
        assert (switch.enabled, switch.variant, switch.handoff_reason) == (
            False,
            "messages",
            KILL_SWITCH,
        )
        assert switch.response == "utter_kill_switch_outage"
        assert switch.escalation_rule().rule_id == "flags.kill_switch.messages"
        assert not process.is_enabled("return_order", JANE).enabled  # writes stop too

    world.admin.set_kill_switch("off", OPERATOR, "incident resolved")
    for process in (world.capabilities, world.other):
        assert process.kill_switch(JANE).enabled
        assert process.is_enabled("cancel_order", JANE).enabled


def test_flags_are_read_through_openfeature(world: FlagWorld):
    world.admin.add_override("write.change_email", False, OPERATOR, "pilot", tiers=["bronze"])
    client = world.capabilities.client
    bronze = FlagContext("c-b", customer_id="C1003", channel="rest", tier="bronze")
    details = client.get_boolean_details("write.change_email", True, to_evaluation_context(bronze))
    assert details.value is False and details.variant == "off"
    assert details.reason == Reason.TARGETING_MATCH and details.error_code is None
    assert details.flag_metadata["rule"].startswith("override:ovr_")
    assert details.flag_metadata["targeting_key_hash"] == PSEUDONYMIZE("customer:C1003")
    assert "C1003" not in str(details.flag_metadata)
    mode = client.get_string_details("kill_switch", "off", to_evaluation_context(bronze))
    assert (mode.value, mode.variant) == ("off", "off")
    missing = client.get_boolean_details("write.teleport", True, to_evaluation_context(bronze))
    assert missing.value is True and missing.error_code == "FLAG_NOT_FOUND"


def test_one_view_for_a_block_of_evaluations(world: FlagWorld):
    with world.capabilities.consistent_view():
        assert world.capabilities.kill_switch(JANE).enabled
        world.admin.set_kill_switch("messages", OPERATOR, "incident")
        # The block's evaluations agree with each other: one view, one counter read.
        assert world.capabilities.kill_switch(JANE).enabled
        assert world.capabilities.is_enabled("cancel_order", JANE).enabled
    assert not world.capabilities.kill_switch(JANE).enabled  # the next message sees it


def test_percentages_stick_to_the_customer_in_every_store(world: FlagWorld):
    world.admin.add_override("contact.invoices", False, OPERATOR, "half", percentage=50)
    customers = [f"C{n}" for n in range(200)]
    answers = {
        customer: {
            world.capabilities.is_enabled(
                "contact.invoices", FlagContext(f"{customer}-{channel}", customer, channel)
            ).enabled
            for channel in ("rest", "socketio", "slack")
        }
        for customer in customers
    }
    assert all(len(seen) == 1 for seen in answers.values())  # same on every channel
    off = sum(1 for seen in answers.values() if seen == {False})
    assert 70 <= off <= 130  # 50% of 200, within 3 standard deviations


def test_writes_fail_closed_and_conversations_open_when_the_database_is_down(sqlite_world):
    store = SqlFlagStore(UNREACHABLE)
    down = capabilities_for(sqlite_world.policy, FlagState(store, SqlChangeSignal(store), 30))
    write = down.is_enabled("cancel_order", JANE)
    assert (write.enabled, write.reason, write.handoff_reason) == (False, "ERROR", DEPENDENCY_DOWN)
    assert write.as_record()["error"].startswith("cannot read the flag change counter")
    assert down.is_enabled("contact.order_status", JANE).enabled
    assert down.kill_switch(JANE).enabled


def test_the_last_view_serves_while_the_database_is_briefly_down(sqlite_world):
    now = [0.0]
    store = SqlFlagStore(sqlite_world.url)
    state = FlagState(store, SqlChangeSignal(store), 30, clock=lambda: now[0])
    flags = capabilities_for(sqlite_world.policy, state)
    sqlite_world.admin.set_kill_switch("writes", OPERATOR, "incident")
    assert not flags.is_enabled("cancel_order", JANE).enabled
    broken = SqlFlagStore(UNREACHABLE)
    state.store, state.signal = broken, SqlChangeSignal(broken)
    now[0] = 29.0
    stale = flags.is_enabled("cancel_order", JANE)
    assert (stale.enabled, stale.reason, stale.handoff_reason) == (False, "STALE", KILL_SWITCH)
    now[0] = 31.0
    assert flags.is_enabled("cancel_order", JANE).handoff_reason == DEPENDENCY_DOWN


def test_the_redis_copy_of_the_counter_falls_back_to_sql(sqlite_world):
    store = SqlFlagStore(sqlite_world.url)
    nothing_there = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2)
    signal = RedisChangeSignal(nothing_there, store, 5, key="test:flags:unreachable")
    flags = capabilities_for(sqlite_world.policy, FlagState(store, signal, 30))
    sqlite_world.admin.set_kill_switch("messages", OPERATOR, "incident")
    assert not flags.kill_switch(JANE).enabled


def test_a_change_raises_the_redis_copy_and_an_expired_copy_is_read_again(sqlite_world):
    from tests.support.servers import REDIS_URL, require_server

    client = redis.Redis.from_url(require_server(REDIS_URL, "Redis"))
    store = SqlFlagStore(sqlite_world.url)
    key = f"test:flags:{id(store)}"
    signal = RedisChangeSignal(client, store, 5, key=key)
    sqlite_world.admin.signal = signal
    try:
        sqlite_world.admin.set_kill_switch("writes", OPERATOR, "incident")
        version = store.read_version()
        assert int(client.get(key)) == version and 0 < client.pttl(key) <= 5000
        signal.announce(version - 1)  # a late announcement never moves the copy back
        assert int(client.get(key)) == version
        client.delete(key)  # expired: the next check reads SQL and copies it back
        assert signal.current() == version and int(client.get(key)) == version
    finally:
        client.delete(key)

"""The write path's capability provider answers from the flags, off the event loop."""

from __future__ import annotations

from frontline.flags.write_capabilities import FlagWriteCapabilities
from tests.flags.conftest import OPERATOR, FlagWorld

GOLD_ON_SLACK = {
    "conversation_id": "conv-w1",
    "channel": "slack",
    "customer_id": "C1001",
    "tier": "gold",
}


async def test_writes_follow_their_flags_and_the_kill_switch(sqlite_world: FlagWorld):
    writes = FlagWriteCapabilities(sqlite_world.capabilities)
    assert writes.version == f"flags@{sqlite_world.policy.version}"
    assert await writes.is_enabled("write.cancel_order", GOLD_ON_SLACK)

    sqlite_world.admin.add_override(
        "write.cancel_order", False, OPERATOR, "gold on Slack by people",
        channels=["slack"], tiers=["gold"],
    )  # fmt: skip
    assert not await writes.is_enabled("write.cancel_order", GOLD_ON_SLACK)
    assert await writes.is_enabled("write.cancel_order", GOLD_ON_SLACK | {"tier": "silver"})
    off = await writes.evaluate("write.cancel_order", GOLD_ON_SLACK)
    assert (off.handoff_reason, off.response) == ("capability_off", "utter_capability_off")

    sqlite_world.admin.set_kill_switch("writes", OPERATOR, "INC-9")
    stopped = await writes.evaluate("write.change_email", GOLD_ON_SLACK | {"tier": "silver"})
    assert not stopped.enabled and stopped.handoff_reason == "kill_switch"
    assert stopped.refusal_slots()["escalation_rule"]["response"] == "utter_kill_switch_writes"
    assert stopped.as_record()["rule"] == "kill_switch:writes"

"""Every change of the kill switch or an override is audited: who, from where, when, why,
before and after; undo is a change too. A refused change changes and records nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from frontline.audit.store import AuditStore
from frontline.errors import AuditError
from frontline.flags.admin import AUDIT_KIND, FlagAdmin, FlagChangeRefused, Operator
from frontline.flags.evaluation import FlagContext
from tests.flags.conftest import OPERATOR, ROOT, FlagWorld

JANE = FlagContext("conv-jane", customer_id="C1001", channel="rest", tier="gold")


def changes(world: FlagWorld) -> list[dict]:
    return [record.payload for record in world.audit.records(kind=AUDIT_KIND)]


def test_kill_switch_on_and_undo_are_two_audited_changes(sqlite_world):
    desk = Operator("maria", "desk")
    on = sqlite_world.admin.set_kill_switch("messages", desk, "payments incident INC-42")
    sqlite_world.admin.set_kill_switch("off", desk, "INC-42 resolved")
    first, undo = changes(sqlite_world)
    assert first["action"] == "kill_switch" and undo["action"] == "kill_switch"
    assert (first["actor"], first["source"], first["reason"]) == (
        "maria",
        "desk",
        "payments incident INC-42",
    )
    assert first["before"]["mode"] == "off"
    assert first["after"] == {
        "mode": "messages",
        "response": "utter_kill_switch_messages",
        "reason": "payments incident INC-42",
        "actor": "maria",
        "since": on.since,
    }
    assert undo["before"]["mode"] == "messages" and undo["after"]["mode"] == "off"
    assert undo["reason"] == "INC-42 resolved"
    assert first["change_id"] != undo["change_id"]
    assert first["flags_version"] == sqlite_world.policy.version
    assert sqlite_world.audit.verify().ok  # on the hash chain like every record
    assert sqlite_world.admin.status().mode == "off"


def test_overrides_added_and_removed_are_audited(sqlite_world):
    override = sqlite_world.admin.add_override(
        "contact.double_charge",
        False,
        OPERATOR,
        "billing team takes duplicates this week",
        channels=["slack"],
        tiers=["gold"],
        percentage=25,
    )
    sqlite_world.admin.remove_override(override.override_id, OPERATOR, "week over")
    added, removed = changes(sqlite_world)
    assert added["action"] == "override_added" and removed["action"] == "override_removed"
    assert added["override"] == {
        "id": override.override_id,
        "flag": "contact.double_charge",
        "value": False,
        "segment": {"channels": ["slack"], "tiers": ["gold"], "percentage": 25},
        "reason": "billing team takes duplicates this week",
        "actor": "ana",
        "created_at": override.created_at,
    }
    assert removed["override"]["id"] == override.override_id and removed["reason"] == "week over"
    assert sqlite_world.admin.overrides() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda admin: admin.set_kill_switch("everything", OPERATOR, "x"), "mode must be one"),
        (lambda admin: admin.set_kill_switch("writes", OPERATOR, "  "), "say why"),
        (
            lambda admin: admin.set_kill_switch("writes", OPERATOR, "x", response="utter_greet"),
            "response must be one of",
        ),
        (lambda admin: admin.set_kill_switch("writes", Operator("", "cli"), "x"), "operator"),
        (lambda admin: admin.add_override("write.teleport", False, OPERATOR, "x"), "no flag"),
        (
            lambda admin: admin.add_override(
                "write.cancel_order", False, OPERATOR, "x", percentage=101
            ),
            "percentage",
        ),
        (lambda admin: admin.remove_override("ovr_nothing", OPERATOR, "x"), "no override"),
    ],
)
def test_a_refused_change_changes_and_records_nothing(sqlite_world, change, message):
    with pytest.raises(FlagChangeRefused, match=message):
        change(sqlite_world.admin)
    assert changes(sqlite_world) == []
    assert sqlite_world.admin.snapshot().version == 0


def test_no_change_without_an_audit_record(sqlite_world, tmp_path):
    # An audit chain whose database cannot be written (a directory, not a file).
    (tmp_path / "audit.db").mkdir()
    admin = FlagAdmin(
        sqlite_world.admin.store,
        sqlite_world.admin.signal,
        sqlite_world.policy,
        AuditStore(f"sqlite:///{tmp_path / 'audit.db'}", "main"),
    )
    with pytest.raises(AuditError):
        admin.set_kill_switch("writes", OPERATOR, "incident")
    assert sqlite_world.admin.status().mode == "off"


def run_cli(
    world: FlagWorld, *args: str, operator: str | None = "ana"
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "FRONTLINE_DATABASE_URL": world.url,
        "FRONTLINE_AUDIT_CHAIN": world.audit.chain,
        "REDIS_URL": "",
    }
    if operator:
        env["FRONTLINE_OPERATOR"] = operator
    return subprocess.run(
        [sys.executable, "-m", "frontline.flags", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_line_turns_the_kill_switch_on_off_and_shows_it(sqlite_world):
    on = run_cli(sqlite_world, "kill-switch", "on", "--mode", "writes", "--reason", "INC-7")
    assert on.returncode == 0, on.stderr
    assert on.stdout.startswith("kill switch writes (by ana, ")
    assert not sqlite_world.capabilities.is_enabled("cancel_order", JANE).enabled

    status = run_cli(sqlite_world, "kill-switch", "status")
    assert '"mode": "writes"' in status.stdout and '"actor": "ana"' in status.stdout

    refused = run_cli(sqlite_world, "kill-switch", "off")
    assert refused.returncode == 1 and "say why" in refused.stderr

    off = run_cli(sqlite_world, "kill-switch", "off", "--reason", "INC-7 fixed")
    assert off.returncode == 0, off.stderr
    assert sqlite_world.capabilities.is_enabled("cancel_order", JANE).enabled
    assert [c["after"]["mode"] for c in changes(sqlite_world)] == ["writes", "off"]
    assert {c["source"] for c in changes(sqlite_world)} == {"cli"}


def test_the_command_line_overrides_a_flag_for_a_segment_and_explains_it(sqlite_world):
    made = run_cli(
        sqlite_world,
        "set",
        "contact.returns",
        "off",
        "--channel",
        "slack",
        "--reason",
        "returns on Slack by people",
    )
    assert made.returncode == 0, made.stderr
    override_id = made.stdout.split(":")[0]
    explained = run_cli(
        sqlite_world,
        "explain",
        "contact.returns",
        "--conversation",
        "c1",
        "--customer",
        "C1001",
        "--channel",
        "slack",
    )
    assert explained.stdout.strip() == (
        f"contact.returns: off (TARGETING_MATCH, override:{override_id}) for customer:C1001"
    )
    listed = run_cli(sqlite_world, "list")
    assert f"override:{override_id}  off for slack  (ana, " in listed.stdout
    cleared = run_cli(sqlite_world, "clear", override_id, "--reason", "done")
    assert cleared.returncode == 0, cleared.stderr
    assert sqlite_world.admin.overrides() == []

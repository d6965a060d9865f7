"""The shared vocabulary (frontline/vocabulary.py) agrees with every file that lists the
same names: the domain's slots and forms, the escalation policy's reasons, priorities and
writes, and the handoff packet's JSON schema."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from frontline.policy.escalation import PRIORITIES as POLICY_PRIORITIES
from frontline.vocabulary import FORMS, PRIORITIES, REASONS, SLOTS, WRITES, Reason
from tests.support.domain import raw_domain

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = raw_domain()
ESCALATION = yaml.safe_load((ROOT / "policies" / "escalation.yml").read_text())["rules"]
PACKET_SCHEMA = json.loads((ROOT / "schemas" / "handoff_packet.v1.1.json").read_text())
ESCALATION_SCHEMA = json.loads(
    (ROOT / "policies" / "schemas" / "escalation.schema.json").read_text()
)


def test_slots_are_exactly_the_domains():
    domain_slots = set(DOMAIN["slots"])
    assert domain_slots - SLOTS == set(), "add these slots to frontline.vocabulary.Slot"
    assert SLOTS - domain_slots == set(), "these vocabulary slots are not in domain/*.yml"


def test_forms_are_exactly_the_domains():
    assert set(DOMAIN["forms"]) == FORMS


def test_reason_codes_are_exactly_the_packet_schemas():
    codes = PACKET_SCHEMA["properties"]["reason"]["properties"]["code"]["enum"]
    assert len(REASONS) == len(set(REASONS))
    assert set(codes) == set(REASONS)


def test_escalation_policy_names_only_known_reasons():
    assert set(ESCALATION["priority"]["by_reason"]) <= set(REASONS)
    assert set(ESCALATION["reasons"]) <= set(REASONS)


def test_priorities_are_the_schemas_and_the_policys():
    assert PACKET_SCHEMA["properties"]["priority"]["enum"] == list(PRIORITIES)
    assert ESCALATION_SCHEMA["$defs"]["priority"]["enum"] == list(PRIORITIES)
    assert POLICY_PRIORITIES == PRIORITIES
    assert set(ESCALATION["priority"]["by_reason"].values()) <= set(PRIORITIES)
    assert set(ESCALATION["expected_wait"]) == set(PRIORITIES)


def test_writes_are_exactly_the_escalation_policys():
    assert set(ESCALATION["writes"]) == set(WRITES)


def test_new_reason_codes_of_the_shared_vocabulary_are_there():
    assert Reason.OUTCOME_UNKNOWN == "outcome_unknown"
    for code in ("capability_off", "kill_switch", "dependency_down", "protected_change"):
        assert code in REASONS

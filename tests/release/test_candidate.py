"""`make candidate`'s wiring: steps in order, the registry, and every decision audited.

The slow steps (training, Rasa's test runs, the slices) are replaced by a recorder; the
registry, the gate, the policy and the audit trail (SQLite) are the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from frontline.audit.store import AuditStore
from frontline.errors import ConfigurationError
from frontline.release.canary import CanaryStore
from frontline.release.candidate import AUDIT_KIND, run_candidate
from frontline.release.operations import Release
from frontline.release.policy import release_policy
from frontline.release.registry import Registry
from tests.release.support import all_slices, fake_model

POLICY = release_policy()
GOOD = {"order_status": {"first_time": 19, "rephrase": 1}}
BAD = {"order_status": {"first_time": 14, "misrouted": 6}}


@dataclass
class RecordingSteps:
    """Trains a fake archive with a given id; figures per model id."""

    new_id: str
    figures: dict[str, dict[str, Any]]
    stories_pass: bool = True
    calls: list[str] = field(default_factory=list)

    def train(self, out_dir: Path) -> Path:
        self.calls.append("train")
        return fake_model(out_dir / "training.tar.gz", self.new_id)

    def data_validate(self) -> bool:
        self.calls.append("data_validate")
        return True

    def test_stories(self, model: Path) -> bool:
        self.calls.append(f"test_stories {model.name}")
        return self.stories_pass

    def slices(self, model: Path) -> dict[str, Any]:
        from frontline.release.registry import model_id

        self.calls.append(f"slices {model.name}")
        return self.figures[model_id(model)]

    def cross_validation(self, folds: int) -> float | None:
        self.calls.append(f"cv {folds}")
        return 0.9


@pytest.fixture
def registry(tmp_path) -> Registry:
    fake_model(tmp_path / "models" / "frontline.tar.gz", "prod1")
    return Registry(tmp_path)


@pytest.fixture
def audit(sqlite_url, unique_name) -> AuditStore:
    return AuditStore(sqlite_url, unique_name)


def test_a_good_candidate_is_approved_promoted_and_rolled_back_all_audited(registry, audit):
    steps = RecordingSteps("cand1", {"prod1": all_slices(GOOD), "cand1": all_slices(GOOD)})
    result = run_candidate(steps, registry, POLICY, audit)
    assert result.verdict.promote, result.verdict.failures
    assert steps.calls == [
        "train",
        "data_validate",
        "test_stories cand1.tar.gz",
        "slices cand1.tar.gz",
        "slices frontline.tar.gz",
        f"cv {POLICY.cv_folds}",
    ]
    assert (registry.root / "models" / "candidates" / "cand1.tar.gz").exists()
    assert registry.approved().model_id == "cand1"
    assert registry.production().model_id == "prod1"

    assert (
        Release(registry, CanaryStore(audit.url), POLICY, audit).promote()
        == "promoted cand1 (replaces prod1)"
    )
    assert registry.production().path == "models/candidates/cand1.tar.gz"
    assert registry.approved() is None
    assert (
        Release(registry, CanaryStore(audit.url), POLICY, audit).rollback("test")
        == "rolled back to prod1 (withdrew cand1)"
    )
    assert registry.production().model_id == "prod1"

    records = audit.records(kind=AUDIT_KIND)
    assert [r.payload["event"] for r in records] == ["gate_passed", "promoted", "rolled_back"]
    assert {(r.payload["candidate_model"], r.payload["production_model"]) for r in records} == {
        ("cand1", "prod1")
    }
    gate = records[0].payload
    assert gate["comparison"]["slices"]["holdout"]["resolved"]["candidate"] == 0.95
    assert gate["comparison"]["per_intent"]["order_status"]["judged"] is True
    assert gate["policy_version"] == POLICY.version
    assert audit.verify().ok


def test_a_worse_candidate_is_rejected_and_cannot_be_promoted(registry, audit):
    steps = RecordingSteps("cand2", {"prod1": all_slices(GOOD), "cand2": all_slices(BAD)})
    result = run_candidate(steps, registry, POLICY, audit)
    assert not result.verdict.promote
    assert registry.approved() is None
    with pytest.raises(ConfigurationError, match="no approved candidate"):
        Release(registry, CanaryStore(audit.url), POLICY, audit).promote()
    (record,) = audit.records(kind=AUDIT_KIND)
    assert record.payload["event"] == "gate_failed"
    assert record.payload["candidate_model"] == "cand2"
    assert "intent order_status: misrouted 0.0% -> 30.0% is beyond max_misrouted_rise 0.08" in (
        record.payload["failures"]
    )


def test_a_given_model_is_judged_without_training(registry, audit):
    model = fake_model(registry.root / "models" / "candidates" / "cand3.tar.gz", "cand3")
    steps = RecordingSteps(
        "unused", {"prod1": all_slices(GOOD), "cand3": all_slices(GOOD)}, stories_pass=False
    )
    result = run_candidate(steps, registry, POLICY, audit, model=model)
    assert "train" not in steps.calls
    assert result.verdict.failures == ("check test_stories did not pass",)


def test_rollback_of_an_approved_candidate_withdraws_it(registry, audit):
    steps = RecordingSteps("cand4", {"prod1": all_slices(GOOD), "cand4": all_slices(GOOD)})
    run_candidate(steps, registry, POLICY, audit)
    message = Release(registry, CanaryStore(audit.url), POLICY, audit).rollback("canary breach")
    assert message == "withdrew candidate cand4; production stays prod1"
    assert registry.approved() is None
    last = audit.records(kind=AUDIT_KIND)[-1].payload
    assert (last["event"], last["reason"]) == ("rolled_back", "canary breach")

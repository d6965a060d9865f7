"""``make candidate``: train a candidate, check it, compare it with production, decide.

:func:`run_candidate` does the steps in order and records the verdict in the audit trail
(kind ``release``, both model ids and every number). The steps are a :class:`Steps`
object so tests can replace the slow ones (training, Rasa's test runs); :class:`RasaSteps`
runs the real ones:

1. train through the launcher into ``models/candidates/<model_id>.tar.gz``;
2. ``policy_check`` and ``rasa data validate``;
3. the test stories (``rasa test core --fail-on-prediction-errors``);
4. the NLU holdout and its robustness slices (:mod:`frontline.tools.nlu_slices`), for the
   candidate and for production, on the same messages;
5. cross-validation of the candidate's pipeline on the training data (``folds`` of
   ``policies/release.yml``; 0 skips it);
6. :func:`frontline.release.gate.judge`.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from frontline.audit.store import AuditStore, NewRecord
from frontline.release.gate import Figures, Verdict, judge
from frontline.release.policy import ReleasePolicy
from frontline.release.registry import CANDIDATES_DIR, ModelRef, Registry, model_id

logger = logging.getLogger(__name__)

AUDIT_KIND = "release"
CHECK_TIMEOUT_SECONDS = 3600


class Steps(Protocol):
    """The slow parts of ``make candidate``, replaceable in tests."""

    def train(self, out_dir: Path) -> Path:
        """Trains a model into ``out_dir``; returns its archive."""

    def data_validate(self) -> bool:
        """Whether the policies and the training data validate."""

    def test_stories(self, model: Path) -> bool:
        """Whether every test story passes with ``model``."""

    def slices(self, model: Path) -> dict[str, Any]:
        """Figures per slice (holdout and robustness slices) of ``model``."""

    def cross_validation(self, folds: int) -> float | None:
        """Cross-validated macro-F1 of the pipeline on the training data (None: skipped)."""


def _succeeds(command: list[str], root: Path) -> bool:
    logger.info("Running %s", " ".join(command))
    finished = subprocess.run(
        command, cwd=root, capture_output=True, text=True, timeout=CHECK_TIMEOUT_SECONDS
    )
    if finished.returncode != 0:
        logger.warning("%s failed:\n%s", command[2:4], (finished.stdout + finished.stderr)[-3000:])
    return finished.returncode == 0


@dataclass
class RasaSteps:
    """The real steps, run in ``root`` (the project) with this Python."""

    root: Path
    seed: int = 17

    def train(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        name = "training"
        command = [
            sys.executable, "-m", "frontline.runtime", "train", "--domain", "domain",
            "--fixed-model-name", name, "--out", str(out_dir), "--quiet",
        ]  # fmt: skip
        if not _succeeds(command, self.root):
            raise RuntimeError("training the candidate failed")
        return out_dir / f"{name}.tar.gz"

    def data_validate(self) -> bool:
        return _succeeds([sys.executable, "-m", "frontline.policy_check"], self.root) and (
            _succeeds([sys.executable, "-m", "rasa", "data", "validate", "--domain", "domain",
                       "--quiet"], self.root)  # fmt: skip
        )

    def test_stories(self, model: Path) -> bool:
        with tempfile.TemporaryDirectory(prefix="frontline-candidate-") as out:
            command = [
                sys.executable, "-m", "frontline.runtime", "test", "core", "--model", str(model),
                "--stories", "tests/stories", "--out", out, "--no-plot", "--quiet",
                "--fail-on-prediction-errors",
            ]  # fmt: skip
            return _succeeds(command, self.root)

    def slices(self, model: Path) -> dict[str, Any]:
        from frontline.nlu.clarification_policy import load_clarification_policy
        from frontline.tools import nlu_slices

        business = load_clarification_policy(self.root / "policies").offerable
        examples = nlu_slices.slices(
            self.root / "tests" / "nlu" / "holdout.yml",
            nlu_slices.written_slices(self.root / "tests" / "nlu" / "slices"),
            self.seed,
        )
        return nlu_slices.evaluate(model, examples, business)

    def cross_validation(self, folds: int) -> float | None:
        if folds < 2:
            return None
        from frontline.tools.tune_thresholds import cross_validated_predictions, macro_f1

        predictions = cross_validated_predictions(
            self.root / "config.yml", self.root / "data" / "nlu", self.root / "domain", folds,
            self.seed,
        )  # fmt: skip
        return macro_f1([(p.expected, p.predicted) for p in predictions])


@dataclass(frozen=True)
class CandidateResult:
    """What ``make candidate`` decided."""

    candidate: ModelRef
    production: ModelRef
    verdict: Verdict


def audit_release(audit: AuditStore | None, event: str, payload: dict[str, Any]) -> None:
    """Appends a ``release`` record (``event``: gate_passed, gate_failed, promoted, ...)."""
    if audit is not None:
        audit.append([NewRecord(AUDIT_KIND, {"event": event, **payload})])


def run_candidate(
    steps: Steps,
    registry: Registry,
    policy: ReleasePolicy,
    audit: AuditStore | None,
    *,
    model: Path | None = None,
    folds: int | None = None,
    report: Callable[[str], None] = logger.info,
) -> CandidateResult:
    """Trains (unless ``model`` is given), checks, compares and records the verdict.

    A candidate that passes is recorded as approved in the registry (``promote`` or a
    canary then puts it in front of customers); one that fails is kept on disk for study.
    ``folds`` overrides the policy's cross-validation folds (0 skips it).
    """
    if model is None:
        report("training the candidate")
        trained = steps.train(registry.root / CANDIDATES_DIR / "incoming")
        identifier = model_id(trained)
        model = registry.root / CANDIDATES_DIR / f"{identifier}.tar.gz"
        trained.replace(model)
    model = model.resolve()
    try:
        where = str(model.relative_to(registry.root.resolve()))
    except ValueError:  # a model outside the project: kept by its absolute path
        where = str(model)
    candidate = ModelRef(model_id(model), where)
    production = registry.production()
    report(f"candidate {candidate.model_id}, production {production.model_id}")
    checks = {"data_validate": steps.data_validate()}
    report(f"data validate: {'ok' if checks['data_validate'] else 'FAILED'}")
    checks["test_stories"] = steps.test_stories(model)
    report(f"test stories: {'ok' if checks['test_stories'] else 'FAILED'}")
    report("NLU holdout and robustness slices, both models")
    candidate_slices = steps.slices(model)
    production_slices = steps.slices(registry.path_of(production))
    cv = steps.cross_validation(policy.cv_folds if folds is None else folds)
    production_cv = (production.figures or {}).get("cv_macro_f1")
    verdict = judge(
        Figures(production_slices, production_cv),
        Figures(candidate_slices, cv),
        policy.margins,
        checks,
    )
    figures = {"cv_macro_f1": cv, "resolved": _resolved(candidate_slices)}
    candidate = ModelRef(candidate.model_id, candidate.path, figures)
    if verdict.promote:
        registry.approve(candidate)
    audit_release(
        audit,
        "gate_passed" if verdict.promote else "gate_failed",
        {
            "candidate_model": candidate.model_id,
            "production_model": production.model_id,
            "policy_version": policy.version,
            **verdict.as_dict(),
        },
    )
    return CandidateResult(candidate, production, verdict)


def _resolved(slices: dict[str, Any]) -> dict[str, float]:
    return {name: float(figures.get("resolved", 0.0)) for name, figures in slices.items()}

"""What the training examples in customers' voices (``data/nlu/voices``) changed.

    python -m bench.training_voices --before-cv OLD.json --after-cv NEW.json \
        --before-slices OLD_SLICES.json --after-slices NEW_SLICES.json \
        --before-thresholds 0.65 0.9 0.0 --after-thresholds 0.65 0.9 0.0

Cross-validated predictions (``bench.nlu_cv`` / ``make tune-thresholds``) before and after
the new examples, each replayed at its own thresholds (``frontline.tools.clarification_tuning``):
all examples, and after the change split into the original examples (the same messages as
before, now predicted by models that also saw the new voices) and the new ones. Then the
holdout and the robustness slices (``frontline.tools.nlu_slices`` JSON) of the model trained
before and after. Figures go to ``bench/results/training_voices.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from frontline.nlu.clarification_policy import load_clarification_policy
from frontline.tools.clarification_tuning import ReplayArrays
from frontline.tools.tune_thresholds import Prediction

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VOICES = ROOT / "data" / "nlu" / "voices"
FIGURES = (
    ("right first time", "first_time"),
    ("right after one click", "after_click"),
    ("right, total", "resolved"),
    ("asked to rephrase", "rephrase"),
    ("confidently wrong", "misrouted"),
    ("out of scope starting no flow", "out_of_scope_caught"),
)
SLICE_FIGURES = (("classifier accuracy", "classifier_accuracy"), *FIGURES)


def _predictions(path: Path) -> list[Prediction]:
    loaded = json.loads(path.read_text(encoding="utf-8"))
    return [Prediction.from_dict(p) for p in loaded["predictions"]]


def _voices_texts() -> set[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    return {m.get("text") for m in load_data(str(VOICES)).intent_examples}


def replay(predictions: list[Prediction], thresholds: tuple[float, float, float]) -> dict[str, Any]:
    """Shares at these thresholds (not understood, clarify, margin) and the intent accuracy."""
    outcome = ReplayArrays(predictions, load_clarification_policy(ROOT / "policies")).replay(
        *thresholds
    )
    return outcome.as_dict() | {
        "accuracy": sum(p.expected == p.predicted for p in predictions) / max(len(predictions), 1),
        "examples": len(predictions),
    }


def compare(args: argparse.Namespace) -> dict[str, Any]:
    before = _predictions(args.before_cv)
    after = _predictions(args.after_cv)
    new = _voices_texts()
    before_t, after_t = tuple(args.before_thresholds), tuple(args.after_thresholds)
    subsets = {
        "before: all examples": (before, before_t),
        "after: all examples": (after, after_t),
        "after: original examples": ([p for p in after if p.text not in new], after_t),
        "after: new voices": ([p for p in after if p.text in new], after_t),
    }
    cv = {name: replay(found, t) for name, (found, t) in subsets.items() if found}
    slices: dict[str, Any] = {}
    if args.before_slices and args.after_slices:
        old = json.loads(args.before_slices.read_text(encoding="utf-8"))
        now = json.loads(args.after_slices.read_text(encoding="utf-8"))
        for name in now:
            slices[name] = {"before": old.get(name), "after": now[name]}
    return {
        "folds": {"before": args.before_folds, "after": args.after_folds},
        "thresholds": {"before": before_t, "after": after_t},
        "cross_validation": cv,
        "slices": slices,
    }


def markdown(results: dict[str, Any]) -> str:
    cv = results["cross_validation"]
    names = list(cv)
    lines = [
        "# Training examples in customers' voices: before and after",
        "",
        "Written by `python -m bench.training_voices` (docs/decisions/training-voices.md). "
        f"Thresholds (not understood, clarify, margin): before {results['thresholds']['before']}, "
        f"after {results['thresholds']['after']}.",
        "",
        "## Cross-validation on `data/nlu` (folds: before "
        f"{results['folds']['before']}, after {results['folds']['after']})",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        "| examples | " + " | ".join(str(cv[n]["examples"]) for n in names) + " |",
        "| intent accuracy (no thresholds) | "
        + " | ".join(f"{cv[n]['accuracy']:.1%}" for n in names)
        + " |",
    ]
    for label, key in FIGURES:
        lines.append(f"| {label} | " + " | ".join(f"{cv[n][key]:.1%}" for n in names) + " |")
    if results["slices"]:
        lines += [
            "",
            "## Holdout and robustness slices (model trained on all of `data/nlu`): "
            "before → after",
            "",
            "| | " + " | ".join(results["slices"]) + " |",
            "|---|" + "---|" * len(results["slices"]),
        ]
        for label, key in (("messages", "messages"), *SLICE_FIGURES):
            cells = []
            for figures in results["slices"].values():
                old, new = figures["before"], figures["after"]
                if key == "messages":
                    cells.append(str(new[key]))
                elif old is None:
                    cells.append(f"{new[key]:.1%}")
                else:
                    cells.append(f"{old[key]:.1%} → {new[key]:.1%}")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-cv", type=Path, required=True)
    parser.add_argument("--after-cv", type=Path, required=True)
    parser.add_argument("--before-folds", type=int, default=5)
    parser.add_argument("--after-folds", type=int, default=5)
    parser.add_argument("--before-slices", type=Path)
    parser.add_argument("--after-slices", type=Path)
    parser.add_argument("--before-thresholds", type=float, nargs=3, default=(0.65, 0.9, 0.0))
    parser.add_argument("--after-thresholds", type=float, nargs=3, default=(0.65, 0.9, 0.0))
    args = parser.parse_args(argv)
    results = compare(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "training_voices.json").write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results)
    (RESULTS / "training_voices.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Compares NLU pipeline variants by 5-fold cross-validation on our training data.

    python -m bench.nlu_cv [--variant NAME ...] [--folds 5] [--from-saved]

Variants are derived from ``config.yml`` so they follow today's pipeline:

- ``ngrams``: the pipeline without the sentence encoder (words, word pairs, char n-grams,
  shapes; the pipeline before the encoder);
- ``ngrams+encoder_x<s>``: the same plus ``SentenceEncoderFeaturizer`` with ``scale: s``;
- ``encoder_only``: spaCy tokens and the encoder's vector, no n-grams.

Each variant is trained 5 times and predicts the fold it did not see
(``frontline.tools.tune_thresholds.cross_validated_predictions``, the same folds for all);
the holdout (``tests/nlu/holdout.yml``) is never used. Per variant: intent accuracy and
macro-F1 before any threshold, then the clarification thresholds chosen on its own
predictions (``frontline.tools.clarification_tuning``) and what they give: right first time,
right after one click, asked to rephrase, misrouted, out-of-scope caught. Predictions go to
``bench/results/cv/<variant>.json`` (``--from-saved`` re-scores them without training),
figures to ``bench/results/nlu_cv.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from frontline.nlu.clarification_policy import ClarificationPolicy, load_clarification_policy
from frontline.tools import clarification_tuning as ct
from frontline.tools.tune_thresholds import (
    OUT_OF_SCOPE,
    Prediction,
    cross_validated_predictions,
    macro_f1,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ENCODER = "frontline.nlu.sentence_encoder.SentenceEncoderFeaturizer"
CLASSIFIER_SUFFIX = "LogisticRegressionClassifier"
NGRAM_COMPONENTS = ("RegexFeaturizer", "CountVectorsFeaturizer")
DEFAULT_VARIANTS = ("ngrams", "ngrams+encoder_x1", "ngrams+encoder_x3", "encoder_only")

logger = logging.getLogger(__name__)


def _short(component: dict[str, Any]) -> str:
    return str(component.get("name")).rsplit(".", 1)[-1]


def variant_config(base: dict[str, Any], variant: str) -> dict[str, Any]:
    """``base`` (a parsed config.yml) changed into ``variant``.

    Raises:
        ValueError: an unknown variant name.
    """
    config = json.loads(json.dumps(base))
    pipeline = [c for c in config["pipeline"] if c.get("name") != ENCODER]
    encoder_settings = next((c for c in base["pipeline"] if c.get("name") == ENCODER), {})
    classifier_at = next(i for i, c in enumerate(pipeline) if _short(c).endswith(CLASSIFIER_SUFFIX))
    if variant == "ngrams":
        config["pipeline"] = pipeline
        return config
    if variant.startswith("ngrams+encoder_x") or variant == "encoder_only":
        scale = 3.0 if variant == "encoder_only" else float(variant.rsplit("_x", 1)[1])
        encoder = {**encoder_settings, "name": ENCODER, "scale": scale}
        pipeline.insert(classifier_at, encoder)
        if variant == "encoder_only":
            pipeline = [c for c in pipeline if _short(c) not in NGRAM_COMPONENTS]
        config["pipeline"] = pipeline
        return config
    raise ValueError(f"unknown variant {variant!r}")


def score(predictions: list[Prediction], policy: ClarificationPolicy) -> dict[str, Any]:
    """Accuracy, macro-F1 and the outcome at the thresholds chosen for these predictions."""
    pairs = [(p.expected, p.predicted) for p in predictions]
    in_scope = [p for p in predictions if p.expected != OUT_OF_SCOPE]
    chosen = ct.choose_bands(predictions, policy)
    return {
        "examples": len(predictions),
        "accuracy": sum(e == q for e, q in pairs) / max(len(pairs), 1),
        "in_scope_accuracy": sum(p.expected == p.predicted for p in in_scope)
        / max(len(in_scope), 1),
        "macro_f1": macro_f1(pairs),
        "chosen": chosen.as_dict() if chosen else None,
    }


def write_results(results: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "nlu_cv.json").write_text(json.dumps(results, indent=2) + "\n")
    names = list(results["variants"])
    rows = [
        ("intent accuracy (no thresholds)", lambda v: f"{v['accuracy']:.1%}"),
        ("macro-F1 (no thresholds)", lambda v: f"{v['macro_f1']:.3f}"),
        ("lower threshold", lambda v: _chosen(v, "threshold", "{:.2f}")),
        ("clarify from", lambda v: _chosen(v, "clarify_threshold", "{:.2f}")),
        ("ambiguity margin", lambda v: _chosen(v, "ambiguity_margin", "{:.2f}")),
        ("in-scope right first time", lambda v: _chosen(v, "first_time", "{:.1%}")),
        ("in-scope right after one click", lambda v: _chosen(v, "after_click", "{:.1%}")),
        ("in-scope right, total", lambda v: _chosen(v, "resolved", "{:.1%}")),
        ("in-scope asked to rephrase", lambda v: _chosen(v, "rephrase", "{:.1%}")),
        ("in-scope misrouted", lambda v: _chosen(v, "misrouted", "{:.1%}")),
        ("out-of-scope caught", lambda v: _chosen(v, "out_of_scope_caught", "{:.1%}")),
        ("cross-validation time (s)", lambda v: f"{v['seconds']:.0f}"),
    ]
    lines = [
        f"# NLU pipelines by {results['folds']}-fold cross-validation on `data/nlu`",
        "",
        f"{results['examples']} examples; written by `python -m bench.nlu_cv` (`make bench-nlu`)."
        " Thresholds chosen per pipeline on its own cross-validated predictions:",
        f"misroutes <= {results['targets']['max_misroute']:.0%} and out-of-scope caught >= "
        f"{results['targets']['min_out_of_scope']:.0%} at {results['targets']['confidence']:.0%} "
        "confidence. Times are wall clock on a shared 2-core machine.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for title, cell in rows:
        cells = [cell(results["variants"][n]) for n in names]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    (RESULTS / "nlu_cv.md").write_text("\n".join(lines) + "\n")


def _chosen(variant: dict[str, Any], key: str, fmt: str) -> str:
    chosen = variant.get("chosen")
    return fmt.format(chosen[key]) if chosen else "none meets the targets"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "nlu")
    parser.add_argument("--domain", type=Path, default=ROOT / "domain")
    parser.add_argument("--variant", action="append", help=f"default: {DEFAULT_VARIANTS}")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--from-saved", action="store_true", help="re-score saved predictions")
    args = parser.parse_args(argv)
    variants = args.variant or list(DEFAULT_VARIANTS)
    base = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    policy = load_clarification_policy(ROOT / "policies")
    saved = RESULTS / "cv"
    saved.mkdir(parents=True, exist_ok=True)
    previous = {}
    if (RESULTS / "nlu_cv.json").exists():
        previous = json.loads((RESULTS / "nlu_cv.json").read_text()).get("variants", {})
    results: dict[str, Any] = {
        "folds": args.folds,
        "seed": args.seed,
        "load_average_at_start": os.getloadavg()[0],
        "targets": asdict(policy.targets) | {"click_cost": policy.click_cost},
        "variants": {},
    }
    for variant in variants:
        path = saved / f"{variant}.json"
        if args.from_saved:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            predictions = [Prediction.from_dict(p) for p in loaded["predictions"]]
            seconds = float(loaded.get("seconds") or previous.get(variant, {}).get("seconds", 0))
        else:
            with tempfile.TemporaryDirectory(prefix="frontline-variant-") as folder:
                config_path = Path(folder) / "config.yml"
                config_path.write_text(yaml.safe_dump(variant_config(base, variant)))
                started = time.perf_counter()
                predictions = cross_validated_predictions(
                    config_path, args.data, args.domain, args.folds, args.seed
                )
                seconds = time.perf_counter() - started
            path.write_text(
                json.dumps(
                    {"seconds": seconds, "predictions": [asdict(p) for p in predictions]},
                    separators=(",", ":"),
                )
                + "\n",
                encoding="utf-8",
            )
        results["variants"][variant] = score(predictions, policy) | {"seconds": seconds}
        results["examples"] = len(predictions)
        print(variant, json.dumps(results["variants"][variant]))
    write_results(results)
    print((RESULTS / "nlu_cv.md").read_text())
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("rasa", "tensorflow", "absl", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    raise SystemExit(main())

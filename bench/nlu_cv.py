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
# Rasa's own class: RetrievalResponseSelector is the same model, but skips messages
# without an intent ranking, and these pipelines have no intent classifier.
TF_SELECTOR = {
    "name": "ResponseSelector",
    "epochs": 40,
    "constrain_similarities": True,
    "random_seed": 42,
}
EMBEDDING_SELECTOR = {
    "name": "frontline.nlu.response_selector.EmbeddingResponseSelector",
}
SELECTORS = {
    # Rasa's ResponseSelector (TensorFlow) on the n-gram features: the pipeline before.
    "tf_response_selector": ("ngrams", TF_SELECTOR),
    # Logistic regression over the n-grams and the sentence encoder's vector.
    "embedding_selector": ("ngrams+encoder_x{scale}", EMBEDDING_SELECTOR),
}

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


def selector_config(base: dict[str, Any], selector: str, scale: float) -> dict[str, Any]:
    """Featurizers of a variant and one response selector, nothing else."""
    variant, component = SELECTORS[selector]
    config = variant_config(base, variant.format(scale=f"{scale:g}"))
    config["pipeline"] = [
        c
        for c in config["pipeline"]
        if not _short(c).endswith(CLASSIFIER_SUFFIX)
        and _short(c)
        not in ("FallbackClassifier", "ClarificationClassifier", "EntitySynonymMapper")
        and "ResponseSelector" not in _short(c)
    ] + [dict(component)]
    config["policies"] = []
    return config


def response_selection_cv(
    config_path: Path, data_path: Path, domain: Path, folds: int, seed: int
) -> list[tuple[str, str]]:
    """(expected, picked) answers of every FAQ and small-talk example, cross-validated."""
    import asyncio

    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from frontline.review.holdout import cv_folds, reviewed_texts

    data = load_data(str(data_path))
    examples = [m for m in data.intent_examples if m.get("intent_response_key")]
    labels = [m.get("intent_response_key") for m in examples]
    texts = [m.get("text") for m in examples]  # reviewed examples: never held out
    assignment = cv_folds(texts, labels, folds, seed, reviewed_texts(Path(data_path)))

    async def pick(model: str, texts: list[str]) -> list[str]:
        agent = Agent.load(model)
        picked = []
        for text in texts:
            selectors = (await agent.parse_message(text)).get("response_selector") or {}
            response = (selectors.get("default") or {}).get("response") or {}
            picked.append(response.get("intent_response_key") or "")
        return picked

    pairs: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="frontline-selector-") as folder:
        for fold in range(folds):
            train_file = Path(folder) / f"train_{fold}.yml"
            train_file.write_text(
                TrainingData(
                    [m for m, f in zip(examples, assignment, strict=True) if f != fold]
                ).nlu_as_yaml()
            )
            model = train_nlu(
                str(config_path), str(train_file), folder, f"fold{fold}", domain=str(domain)
            )
            held_out = [m for m, f in zip(examples, assignment, strict=True) if f == fold]
            picked = asyncio.run(pick(model, [m.get("text") for m in held_out]))
            pairs += [
                (m.get("intent_response_key"), p) for m, p in zip(held_out, picked, strict=True)
            ]
    return pairs


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
        f"{results['targets']['min_out_of_scope']:.0%} "
        + (
            f"at {results['targets']['confidence']:.0%} confidence"
            if results["targets"]["confidence"]
            else "on the cross-validated estimates"
        )
        + ". Times are wall clock on a shared 2-core machine.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for title, cell in rows:
        cells = [cell(results["variants"][n]) for n in names]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    if results.get("selectors"):
        lines += [
            "",
            "FAQ and small-talk answer selection, cross-validated on the retrieval examples "
            "(the right answer among all answers):",
            "",
            "| selector | answers right | macro-F1 | cross-validation time (s) |",
            "|---|---|---|---|",
        ]
        for name, f in results["selectors"].items():
            lines.append(
                f"| {name} | {f['accuracy']:.1%} | {f['macro_f1']:.3f} | {f['seconds']:.0f} |"
            )
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
    parser.add_argument(
        "--selectors",
        action="store_true",
        help="also compare the FAQ / small-talk answer selectors (TensorFlow vs embeddings)",
    )
    parser.add_argument("--scale", type=float, default=3.0, help="encoder scale for --selectors")
    args = parser.parse_args(argv)
    variants = args.variant or list(DEFAULT_VARIANTS)
    base = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    policy = load_clarification_policy(ROOT / "policies")
    saved = RESULTS / "cv"
    saved.mkdir(parents=True, exist_ok=True)
    previous_results = {}
    if (RESULTS / "nlu_cv.json").exists():
        previous_results = json.loads((RESULTS / "nlu_cv.json").read_text())
    previous = previous_results.get("variants", {})
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
    if args.selectors:
        results["selectors"] = compare_selectors(base, args)
    elif "selectors" in previous_results:
        results["selectors"] = previous_results["selectors"]
    write_results(results)
    print((RESULTS / "nlu_cv.md").read_text())
    return 0


def compare_selectors(base: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Answer accuracy, macro-F1 and time of each selector, cross-validated."""
    figures = {}
    for selector in SELECTORS:
        with tempfile.TemporaryDirectory(prefix="frontline-selector-config-") as folder:
            config_path = Path(folder) / "config.yml"
            config_path.write_text(yaml.safe_dump(selector_config(base, selector, args.scale)))
            started = time.perf_counter()
            pairs = response_selection_cv(
                config_path, args.data, args.domain, args.folds, args.seed
            )
            seconds = time.perf_counter() - started
        figures[selector] = {
            "examples": len(pairs),
            "accuracy": sum(e == p for e, p in pairs) / max(len(pairs), 1),
            "macro_f1": macro_f1(pairs),
            "seconds": seconds,
        }
        print(selector, figures[selector])
    return figures


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("rasa", "tensorflow", "absl", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    raise SystemExit(main())

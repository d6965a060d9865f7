"""Chooses the not-understood threshold and the clarify band from cross-validated predictions.

    python -m frontline.tools.tune_thresholds [--folds 5] [--max-misroute 0.02] [--apply]

Every example in ``data/nlu`` is predicted by a model that did not see it (k-fold
cross-validation with ``config.yml`` minus the components that don't change the intent
ranking), but the reviewed ones (``data/nlu/reviewed``), in every training fold.
``frontline.tools.clarification_tuning`` then replays the decision over them for every
FallbackClassifier ``threshold``, ClarificationClassifier ``clarify_threshold`` and
``ambiguity_margin`` on a grid and keeps the best combination whose misroutes and
out-of-scope caught meet the targets of ``policies/clarification.yml`` (options here
override them) at the pessimistic end of their one-sided ``--confidence`` interval (Wilson
score: with about a thousand out-of-scope examples, an estimated 97.3% caught could well
be 96.5% on the next thousand; ``--confidence 0`` compares the estimates themselves). The
best ``threshold`` / ``ambiguity_threshold`` pair of a not-understood threshold alone (no
clarification) is reported for comparison (``fallback_only``).

Figures go to ``bench/results/thresholds.json``, predictions to ``cv_predictions.json``
(``--predictions FILE`` re-tunes from them without training); ``--apply`` writes the values
into ``config.yml``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from frontline.errors import ConfigurationError
from frontline.nlu.clarification_policy import TuningTargets, load_clarification_policy
from frontline.review.holdout import cv_folds, reviewed_texts

if TYPE_CHECKING:  # clarification_tuning builds on this module's predictions
    from frontline.tools.clarification_tuning import BandOutcome

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
# Components left out of the cross-validation models: they don't change the intent ranking.
SKIPPED_COMPONENTS = (
    "FallbackClassifier",
    "ResponseSelector",
    "RetrievalResponseSelector",
    "EmbeddingResponseSelector",
    "ClarificationClassifier",
)
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(0, 20))  # 0.00 .. 0.95
RANKING_KEPT = 5  # intents kept per prediction
AMBIGUITY_GRID = tuple(round(0.025 * i, 3) for i in range(0, 13))  # 0.000 .. 0.300


@dataclass(frozen=True)
class Prediction:
    """What a model that never saw the message predicted for it."""

    text: str
    expected: str
    predicted: str
    confidence: float
    runner_up: float
    fold: int
    # The best intents with their confidences, best first (the clarification's candidates).
    ranking: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prediction:
        """A prediction saved with ``asdict`` (files without a ranking load too)."""
        ranking = tuple((str(name), float(c)) for name, c in data.get("ranking") or ())
        return cls(**{**data, "ranking": ranking})


@dataclass(frozen=True)
class Outcome:
    """Figures for one (threshold, ambiguity_threshold) pair, as shares of messages."""

    threshold: float
    ambiguity_threshold: float
    correct: float
    misrouted: float
    fallback: float
    out_of_scope_caught: float
    in_scope_messages: int = 0
    out_of_scope_messages: int = 0


def wilson_bound(share: float, count: int, confidence: float, upper: bool) -> float:
    """One end of the one-sided Wilson score interval of a share measured on ``count`` items.

    ``confidence`` 0 (or no items) returns the share itself.
    """
    if confidence <= 0 or count <= 0:
        return share
    z = statistics.NormalDist().inv_cdf(confidence)
    denominator = 1 + z * z / count
    centre = (share + z * z / (2 * count)) / denominator
    spread = z * math.sqrt(share * (1 - share) / count + z * z / (4 * count * count))
    return centre + spread / denominator if upper else centre - spread / denominator


def stratified_folds(labels: Sequence[str], folds: int, seed: int) -> list[int]:
    """Assigns each example a fold so that every label is spread evenly over the folds.

    Args:
        labels: The label of each example, in order.
        folds: Number of folds (at least 2).
        seed: Seed of the shuffle, so runs are reproducible.

    Returns:
        The fold index of each example, in the order of ``labels``.
    """
    if folds < 2:
        raise ConfigurationError(f"cross-validation needs at least 2 folds, got {folds}")
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    rng = random.Random(seed)
    assignment = [0] * len(labels)
    offset = 0
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        for position, index in enumerate(indices):
            # Continue the round-robin where the previous label stopped: folds stay equal.
            assignment[index] = (offset + position) % folds
        offset += len(indices)
    return assignment


def decide(prediction: Prediction, threshold: float, ambiguity_threshold: float) -> str:
    """The intent the FallbackClassifier would let through (same rules as Rasa 3.6)."""
    if prediction.confidence < threshold:
        return FALLBACK
    if prediction.confidence - prediction.runner_up < ambiguity_threshold:
        return FALLBACK
    return prediction.predicted


def evaluate(
    predictions: Sequence[Prediction], threshold: float, ambiguity_threshold: float
) -> Outcome:
    """Replays the FallbackClassifier over the predictions with the given thresholds."""
    in_scope = [p for p in predictions if p.expected != OUT_OF_SCOPE]
    out_scope = [p for p in predictions if p.expected == OUT_OF_SCOPE]
    decided = [(p, decide(p, threshold, ambiguity_threshold)) for p in in_scope]
    correct = sum(1 for p, d in decided if d == p.expected)
    fallback = sum(1 for _, d in decided if d == FALLBACK)
    caught = sum(
        1
        for p in out_scope
        if decide(p, threshold, ambiguity_threshold) in (OUT_OF_SCOPE, FALLBACK)
    )
    total = max(len(in_scope), 1)
    return Outcome(
        threshold=threshold,
        ambiguity_threshold=ambiguity_threshold,
        correct=correct / total,
        misrouted=(len(in_scope) - correct - fallback) / total,
        fallback=fallback / total,
        out_of_scope_caught=caught / len(out_scope) if out_scope else 1.0,
        in_scope_messages=len(in_scope),
        out_of_scope_messages=len(out_scope),
    )


def sweep(
    predictions: Sequence[Prediction],
    thresholds: Iterable[float] = THRESHOLD_GRID,
    ambiguities: Iterable[float] = AMBIGUITY_GRID,
) -> list[Outcome]:
    """Evaluates every pair on the grid."""
    ambiguities = list(ambiguities)
    return [evaluate(predictions, t, a) for t in thresholds for a in ambiguities]


def meets_targets(
    outcome: Outcome, max_misroute: float, min_out_of_scope: float, confidence: float = 0.0
) -> bool:
    """Whether both targets hold at the pessimistic end of the ``confidence`` interval."""
    misrouted = wilson_bound(outcome.misrouted, outcome.in_scope_messages, confidence, upper=True)
    caught = wilson_bound(
        outcome.out_of_scope_caught, outcome.out_of_scope_messages, confidence, upper=False
    )
    return misrouted <= max_misroute + 1e-9 and caught >= min_out_of_scope - 1e-9


def choose(
    outcomes: Sequence[Outcome],
    max_misroute: float,
    min_out_of_scope: float,
    confidence: float = 0.0,
) -> Outcome | None:
    """The pair with the most correct answers among those within both targets.

    Ties go to more out-of-scope messages caught, then to the lower thresholds (the
    assistant asks customers to rephrase less often for the same result).
    """
    allowed = [o for o in outcomes if meets_targets(o, max_misroute, min_out_of_scope, confidence)]
    if not allowed:
        return None
    return max(
        allowed,
        key=lambda o: (o.correct, o.out_of_scope_caught, -o.threshold, -o.ambiguity_threshold),
    )


def cross_validation_config(config_path: Path) -> dict[str, Any]:
    """Our pipeline without the components that don't affect the intent ranking."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    pipeline = config.get("pipeline") or []
    config["pipeline"] = [
        c for c in pipeline if str(c.get("name")).rsplit(".", 1)[-1] not in SKIPPED_COMPONENTS
    ]
    config["policies"] = []
    return config


async def _parse_all(model_path: str, texts: Sequence[str]) -> list[dict[str, Any]]:
    """Parses each text with the NLU model at ``model_path``."""
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    return [await agent.parse_message(text) for text in texts]


def cross_validated_predictions(
    config_path: Path, data_path: Path, domain: Path, folds: int, seed: int
) -> list[Prediction]:
    """Trains ``folds`` models and predicts every example with the one that didn't see it."""
    import asyncio

    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = load_data(str(data_path))
    examples = data.intent_examples
    labels = [m.get_full_intent() for m in examples]
    texts = [m.get("text") for m in examples]
    assignment = cv_folds(texts, labels, folds, seed, reviewed_texts(Path(data_path)))
    predictions: list[Prediction] = []
    with tempfile.TemporaryDirectory(prefix="frontline-cv-") as folder:
        work = Path(folder)
        config_file = work / "config.yml"
        config_file.write_text(yaml.safe_dump(cross_validation_config(config_path)))
        for fold in range(folds):
            started = time.perf_counter()
            train = TrainingData(
                training_examples=[
                    m for m, f in zip(examples, assignment, strict=True) if f != fold
                ],
                entity_synonyms=data.entity_synonyms,
                regex_features=data.regex_features,
                lookup_tables=data.lookup_tables,
            )
            train_file = work / f"train_{fold}.yml"
            train_file.write_text(train.nlu_as_yaml(), encoding="utf-8")
            model = train_nlu(
                str(config_file), str(train_file), str(work), f"fold{fold}", domain=str(domain)
            )
            if model is None:
                raise ConfigurationError(f"training fold {fold} failed")
            held_out = [m for m, f in zip(examples, assignment, strict=True) if f == fold]
            texts = [m.get("text") for m in held_out]
            for message, parsed in zip(
                held_out, asyncio.run(_parse_all(model, texts)), strict=True
            ):
                ranking = parsed.get("intent_ranking") or [parsed["intent"]]
                predictions.append(
                    Prediction(
                        text=message.get("text"),
                        expected=message.get("intent"),
                        predicted=parsed["intent"]["name"],
                        confidence=float(parsed["intent"]["confidence"]),
                        runner_up=float(ranking[1]["confidence"]) if len(ranking) > 1 else 0.0,
                        fold=fold,
                        ranking=tuple(
                            (r["name"], round(float(r["confidence"]), 6))
                            for r in ranking[:RANKING_KEPT]
                        ),
                    )
                )
            logger.info(
                "fold %d/%d: %d held-out messages, %.0f s",
                fold + 1,
                folds,
                len(held_out),
                time.perf_counter() - started,
            )
    return predictions


def macro_f1(pairs: Sequence[tuple[str, str]]) -> float:
    """Macro-averaged F1 over the expected labels of (expected, predicted) pairs."""
    labels = {expected for expected, _ in pairs}
    scores = []
    for label in labels:
        tp = sum(1 for e, p in pairs if e == label and p == label)
        fp = sum(1 for e, p in pairs if e != label and p == label)
        fn = sum(1 for e, p in pairs if e == label and p != label)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def apply_to_config(config_path: Path, outcome: Outcome) -> None:
    """Writes the thresholds into the FallbackClassifier entry, keeping comments intact."""
    apply_values(
        config_path,
        "FallbackClassifier",
        {"threshold": outcome.threshold, "ambiguity_threshold": outcome.ambiguity_threshold},
    )


def apply_values(config_path: Path, component: str, values: dict[str, float]) -> None:
    """Sets ``key: value`` lines of one pipeline entry of config.yml, keeping the rest as is.

    Raises:
        ConfigurationError: no such entry, or it lacks one of the keys.
    """
    text = config_path.read_text(encoding="utf-8")
    name = re.escape(component)
    block = re.search(rf"- name: (?:[\w.]+\.)?{name}\n((?:[ \t]+(?!- ).*\n|[ \t]*#.*\n)*)", text)
    if not block:
        raise ConfigurationError(f"{config_path} has no {component} to update")
    body = block.group(1)
    for key, value in values.items():
        body, count = re.subn(rf"(\n?[ \t]+{key}:)[ \t]*[\d.]+", rf"\g<1> {value}", body)
        if count != 1:
            raise ConfigurationError(f"{config_path}: {component} needs one '{key}:'")
    config_path.write_text(text[: block.start(1)] + body + text[block.end(1) :], encoding="utf-8")


def apply_bands(config_path: Path, chosen: BandOutcome) -> None:
    """The not-understood threshold into the FallbackClassifier (whose own ambiguity rule
    gives way to the clarification's), the band into the ClarificationClassifier."""
    apply_values(
        config_path,
        "FallbackClassifier",
        {"threshold": chosen.threshold, "ambiguity_threshold": 0.0},
    )
    apply_values(
        config_path,
        "ClarificationClassifier",
        {
            "clarify_threshold": chosen.clarify_threshold,
            "ambiguity_margin": chosen.ambiguity_margin,
        },
    )


def summarise(
    predictions: Sequence[Prediction],
    chosen: BandOutcome | None,
    fallback_only: Outcome | None,
    targets: TuningTargets,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """The figures written to ``bench/results/thresholds.json``."""
    raw = [(p.expected, p.predicted) for p in predictions]
    in_scope = [p for p in predictions if p.expected != OUT_OF_SCOPE]
    confident_errors = sorted(
        (p for p in in_scope if p.predicted != p.expected),
        key=lambda p: p.confidence,
        reverse=True,
    )
    return {
        "examples": len(predictions),
        "in_scope_examples": len(in_scope),
        "folds": args.folds,
        "seed": args.seed,
        "targets": asdict(targets),
        "without_fallback": {
            "accuracy": sum(e == p for e, p in raw) / max(len(raw), 1),
            "macro_f1": macro_f1(raw),
        },
        "chosen": chosen.as_dict() if chosen else None,
        "fallback_only": asdict(fallback_only) if fallback_only else None,
        "rasa_defaults": asdict(evaluate(predictions, 0.3, 0.1)),
        "most_confident_errors": [
            {k: v for k, v in asdict(p).items() if k != "ranking"} for p in confident_errors[:15]
        ],
    }


def main(argv: list[str] | None = None) -> int:
    """Runs the cross-validation (or loads saved predictions) and prints the thresholds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "nlu")
    parser.add_argument("--domain", type=Path, default=ROOT / "domain")
    parser.add_argument("--policies", type=Path, default=ROOT / "policies")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max-misroute", type=float, help="default: policies/clarification.yml")
    parser.add_argument("--min-out-of-scope", type=float, help="default: the policy's")
    parser.add_argument(
        "--confidence",
        type=float,
        help="targets must hold at this one-sided confidence (0: the estimates themselves; "
        "default: the policy's)",
    )
    parser.add_argument("--predictions", type=Path, help="saved predictions: skip training")
    parser.add_argument(
        "--save-predictions", type=Path, default=ROOT / "bench" / "results" / "cv_predictions.json"
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "bench" / "results" / "thresholds.json"
    )
    parser.add_argument("--apply", action="store_true", help="write the thresholds to --config")
    args = parser.parse_args(argv)

    policy = load_clarification_policy(args.policies)
    targets = TuningTargets(
        max_misroute=_or(args.max_misroute, policy.targets.max_misroute),
        min_out_of_scope=_or(args.min_out_of_scope, policy.targets.min_out_of_scope),
        confidence=_or(args.confidence, policy.targets.confidence),
    )
    if args.predictions:
        loaded = json.loads(args.predictions.read_text(encoding="utf-8"))
        predictions = [Prediction.from_dict(p) for p in loaded["predictions"]]
    else:
        predictions = cross_validated_predictions(
            args.config, args.data, args.domain, args.folds, args.seed
        )
        args.save_predictions.parent.mkdir(parents=True, exist_ok=True)
        args.save_predictions.write_text(
            json.dumps({"predictions": [asdict(p) for p in predictions]}, separators=(",", ":"))
            + "\n",
            encoding="utf-8",
        )
    from frontline.tools.clarification_tuning import choose_bands

    chosen = choose_bands(predictions, policy, targets)
    fallback_only = choose(
        sweep(predictions), targets.max_misroute, targets.min_out_of_scope, targets.confidence
    )
    summary = summarise(predictions, chosen, fallback_only, targets, args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")

    raw = summary["without_fallback"]
    print(f"{len(predictions)} cross-validated predictions ({args.folds} folds)")
    print(f"without thresholds: accuracy {raw['accuracy']:.1%}, macro-F1 {raw['macro_f1']:.3f}")
    if fallback_only:
        print(
            f"not-understood threshold alone ({fallback_only.threshold} / "
            f"{fallback_only.ambiguity_threshold}): right {fallback_only.correct:.1%}, "
            f"misrouted {fallback_only.misrouted:.1%}, rephrase {fallback_only.fallback:.1%}"
        )
    if chosen is None:
        print(
            f"No thresholds keep misroutes <= {targets.max_misroute:.1%} with out-of-scope "
            f"caught >= {targets.min_out_of_scope:.1%} (at {targets.confidence:.0%} "
            "confidence): improve the training data first.",
            file=sys.stderr,
        )
        return 1
    print(
        f"threshold: {chosen.threshold}\nclarify_threshold: {chosen.clarify_threshold}\n"
        f"ambiguity_margin: {chosen.ambiguity_margin}\n"
        f"  right first time {chosen.first_time:.1%}, after one click {chosen.after_click:.1%}"
        f", asked to rephrase {chosen.rephrase:.1%}, misrouted {chosen.misrouted:.1%}, "
        f"out-of-scope caught {chosen.out_of_scope_caught:.1%}"
    )
    if args.apply:
        apply_bands(args.config, chosen)
        print(f"written to {args.config}")
    return 0


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("rasa", "tensorflow", "absl", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa logs every parsed message at debug level
    sys.exit(main())

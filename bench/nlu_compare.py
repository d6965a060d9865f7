"""Compares NLU pipelines on the held-out split and writes the figures.

    python -m bench.nlu_compare [--config NAME=PATH ...] [--test tests/nlu/holdout.yml]

Each pipeline is trained on ``data/nlu`` (the same data and domain for all), then
every held-out message is parsed. FAQ and small-talk messages count as right only
when the ResponseSelector also picks the right answer (``faq/shipping_times``).
Reported per pipeline: in-scope intent accuracy (a fallback counts as wrong),
macro-F1 over intents, the share of out-of-scope messages that end in
``out_of_scope`` or ``nlu_fallback`` and the share that would start a flow instead,
wrong answers given with confidence (misroutes), and training time. Results:
``bench/results/nlu_compare.json`` and ``.md`` (``make bench-nlu``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from frontline.vocabulary import FLOW_INTENTS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_CONFIGS = {
    "frontline": ROOT / "config.yml",
    "rasa_init_default": ROOT / "bench" / "configs" / "rasa_init_default.yml",
}
FALLBACK = "nlu_fallback"
CLARIFY = "nlu_clarify"
OUT_OF_SCOPE = "out_of_scope"
RETRIEVAL_INTENTS = ("faq", "chitchat")

logger = logging.getLogger(__name__)


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs of a Rasa NLU file; retrieval intents in full (``faq/x``)."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get_full_intent()) for m in data.intent_examples]


def full_intent(parsed: dict[str, Any], before_fallback: bool = False) -> str:
    """The predicted intent, with the ResponseSelector's pick for retrieval intents.

    Args:
        parsed: Rasa's parse result for one message.
        before_fallback: The classifier's own top intent, as if there were no
            FallbackClassifier (it puts ``nlu_fallback`` on top of the ranking).
    """
    intent = parsed["intent"]["name"]
    if before_fallback and intent in (FALLBACK, CLARIFY):
        ranking = [
            r["name"]
            for r in parsed.get("intent_ranking") or []
            if r["name"] not in (FALLBACK, CLARIFY)
        ]
        intent = ranking[0] if ranking else intent
    if intent not in RETRIEVAL_INTENTS:
        return intent
    selectors = parsed.get("response_selector") or {}
    selected = selectors.get(intent) or selectors.get("default") or {}
    key = (selected.get("response") or {}).get("intent_response_key")
    return key or intent


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    """Macro-averaged F1 over the true intents of (expected, predicted) pairs."""
    scores = f1_scores(pairs)
    return sum(scores.values()) / len(scores)


def f1_scores(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """F1 of each expected intent over (expected, predicted) pairs, lowest first."""
    scores = {}
    for label in {expected for expected, _ in pairs}:
        tp = sum(1 for e, p in pairs if e == label and p == label)
        fp = sum(1 for e, p in pairs if e != label and p == label)
        fn = sum(1 for e, p in pairs if e == label and p != label)
        scores[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return dict(sorted(scores.items(), key=lambda item: item[1]))


async def evaluate(model_path: str, examples: list[tuple[str, str]]) -> dict[str, Any]:
    """Parses every held-out message with the model and computes the figures."""
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    pairs = []
    raw_pairs = []
    misroutes = []
    clicks = 0
    for text, expected in examples:
        parsed = await agent.parse_message(text)
        predicted = full_intent(parsed)
        if predicted == CLARIFY:  # "Did you mean …?": right after one click, or a rephrase
            offered = [o["intent"] for o in (parsed.get("clarification") or {}).get("options", [])]
            clicks += expected in offered and expected != OUT_OF_SCOPE
            predicted = FALLBACK
        pairs.append((expected, predicted))
        raw_pairs.append((expected, full_intent(parsed, before_fallback=True)))
        if predicted not in (expected, FALLBACK):
            misroutes.append(
                {
                    "text": text,
                    "expected": expected,
                    "predicted": predicted,
                    "confidence": round(float(parsed["intent"]["confidence"]), 3),
                }
            )
    misroutes.sort(key=lambda m: m["confidence"], reverse=True)
    in_scope = [(e, p) for e, p in pairs if e != OUT_OF_SCOPE]
    out_scope = [(e, p) for e, p in pairs if e == OUT_OF_SCOPE]
    raw_in_scope = [(e, p) for e, p in raw_pairs if e != OUT_OF_SCOPE]
    return {
        "examples": len(pairs),
        "classifier_accuracy": sum(e == p for e, p in raw_in_scope) / len(raw_in_scope),
        "classifier_macro_f1": macro_f1(raw_pairs),
        "in_scope_accuracy": sum(e == p for e, p in in_scope) / len(in_scope),
        "in_scope_after_one_click": clicks / len(in_scope),
        "macro_f1": macro_f1(pairs),
        "answered_in_scope_precision": sum(e == p for e, p in in_scope)
        / max(sum(p != FALLBACK for _, p in in_scope), 1),
        "out_of_scope_caught": sum(p in (OUT_OF_SCOPE, FALLBACK) for _, p in out_scope)
        / max(len(out_scope), 1),
        "out_of_scope_into_flow": sum(p in FLOW_INTENTS for _, p in out_scope)
        / max(len(out_scope), 1),
        "fallback_rate_in_scope": sum(p == FALLBACK for _, p in in_scope) / len(in_scope),
        "misroutes": len(misroutes),
        "misroute_examples": misroutes[:25],
        "per_intent_f1": f1_scores(pairs),
        "predicted": dict(Counter(p for _, p in pairs)),
    }


def train(config: Path, output: Path) -> tuple[str, float]:
    """Trains the NLU part of ``config`` on data/nlu; returns the model and the seconds taken."""
    from rasa.model_training import train_nlu

    started = time.perf_counter()
    model = train_nlu(
        str(config),
        str(ROOT / "data" / "nlu"),
        str(output),
        fixed_model_name=config.stem,
        domain=str(ROOT / "domain"),
    )
    return model, time.perf_counter() - started


def write_results(results: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "nlu_compare.json").write_text(json.dumps(results, indent=2) + "\n")
    names = list(results["pipelines"])
    rows = [
        (
            "in-scope intent accuracy, classifier alone (before fallback)",
            "classifier_accuracy",
            "{:.1%}",
        ),
        ("macro-F1, classifier alone", "classifier_macro_f1", "{:.3f}"),
        ("in-scope answered right (a fallback counts as wrong)", "in_scope_accuracy", "{:.1%}"),
        ("in-scope right after one click", "in_scope_after_one_click", "{:.1%}"),
        ("macro-F1 (fallback counts as wrong)", "macro_f1", "{:.3f}"),
        ("in-scope answers that were right", "answered_in_scope_precision", "{:.1%}"),
        ("out-of-scope caught", "out_of_scope_caught", "{:.1%}"),
        ("out-of-scope that would start a flow", "out_of_scope_into_flow", "{:.1%}"),
        ("in-scope asked to rephrase or to pick an option", "fallback_rate_in_scope", "{:.1%}"),
        ("confident misroutes", "misroutes", "{}"),
        ("training time (s)", "training_seconds", "{:.0f}"),
    ]
    lines = [
        f"# NLU comparison on `{results['test_file']}` ({results['examples']} messages)",
        "",
        "Written by `make bench-nlu` (`python -m bench.nlu_compare`). Training times are",
        "wall clock on a shared machine (load average "
        f"{results['load_average_at_start']:.1f} at start).",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for title, key, fmt in rows:
        cells = [fmt.format(results["pipelines"][n][key]) for n in names]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    (RESULTS / "nlu_compare.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", default=[], help="NAME=PATH")
    parser.add_argument("--test", type=Path, default=ROOT / "tests" / "nlu" / "holdout.yml")
    args = parser.parse_args(argv)
    configs = dict(c.split("=", 1) for c in args.config) or DEFAULT_CONFIGS
    examples = load_examples(args.test)
    results: dict[str, Any] = {
        "test_file": str(args.test.resolve().relative_to(ROOT))
        if args.test.resolve().is_relative_to(ROOT)
        else str(args.test),
        "load_average_at_start": os.getloadavg()[0],
        "examples": len(examples),
        "pipelines": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        for name, config in configs.items():
            model, seconds = train(Path(config), Path(folder))
            figures = asyncio.run(evaluate(model, examples))
            results["pipelines"][name] = figures | {"training_seconds": seconds}
            print(name, {k: v for k, v in figures.items() if not isinstance(v, (list, dict))})
    write_results(results)
    print((RESULTS / "nlu_compare.md").read_text())


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa logs every parsed message at debug level
    main()

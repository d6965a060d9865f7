"""Compares NLU pipelines on the held-out split and writes the figures.

    python -m bench.nlu_compare [--config NAME=PATH ...] [--test tests/nlu/holdout.yml]

Each pipeline is trained on ``data/nlu`` (the same data for all), then every
held-out message is parsed. Reported per pipeline: in-scope intent accuracy (a
fallback counts as wrong), macro-F1 over intents, the share of out-of-scope messages
that end in ``out_of_scope`` or ``nlu_fallback``, wrong answers given with
confidence (misroutes), and training time. Results: ``bench/results/nlu_compare.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_CONFIGS = {
    "frontline": ROOT / "config.yml",
    "rasa_init_default": ROOT / "bench" / "configs" / "rasa_init_default.yml",
}
FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"

logger = logging.getLogger(__name__)


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs of a Rasa NLU file."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    """Macro-averaged F1 over the true intents of (expected, predicted) pairs."""
    labels = {expected for expected, _ in pairs}
    scores = []
    for label in labels:
        tp = sum(1 for e, p in pairs if e == label and p == label)
        fp = sum(1 for e, p in pairs if e != label and p == label)
        fn = sum(1 for e, p in pairs if e == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


async def evaluate(model_path: str, examples: list[tuple[str, str]]) -> dict[str, Any]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    pairs = []
    misroutes = []
    for text, expected in examples:
        parsed = await agent.parse_message(text)
        predicted = parsed["intent"]["name"]
        pairs.append((expected, predicted))
        if predicted not in (expected, FALLBACK):
            misroutes.append({"text": text, "expected": expected, "predicted": predicted})
    in_scope = [(e, p) for e, p in pairs if e != OUT_OF_SCOPE]
    out_scope = [(e, p) for e, p in pairs if e == OUT_OF_SCOPE]
    return {
        "examples": len(pairs),
        "in_scope_accuracy": sum(e == p for e, p in in_scope) / len(in_scope),
        "macro_f1": macro_f1(pairs),
        "out_of_scope_caught": sum(p in (OUT_OF_SCOPE, FALLBACK) for _, p in out_scope)
        / max(len(out_scope), 1),
        "fallback_rate_in_scope": sum(p == FALLBACK for _, p in in_scope) / len(in_scope),
        "misroutes": len(misroutes),
        "misroute_examples": misroutes[:15],
        "predicted": dict(Counter(p for _, p in pairs)),
    }


def train(config: Path, output: Path) -> tuple[str, float]:
    from rasa.model_training import train_nlu

    started = time.perf_counter()
    model = train_nlu(
        str(config), str(ROOT / "data" / "nlu"), str(output), fixed_model_name=config.stem
    )
    return model, time.perf_counter() - started


def write_results(results: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "nlu_compare.json").write_text(json.dumps(results, indent=2) + "\n")
    names = list(results["pipelines"])
    rows = [
        ("in-scope intent accuracy", "in_scope_accuracy", "{:.1%}"),
        ("macro-F1", "macro_f1", "{:.3f}"),
        ("out-of-scope caught", "out_of_scope_caught", "{:.1%}"),
        ("confident misroutes", "misroutes", "{}"),
        ("training time (s)", "training_seconds", "{:.0f}"),
    ]
    lines = [
        f"# NLU comparison on `{results['test_file']}` ({results['examples']} messages)",
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
        "test_file": str(args.test.relative_to(ROOT)),
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
    main()

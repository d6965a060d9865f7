"""What the trained assistant does with each message of the holdout and robustness slices.

    python -m frontline.tools.nlu_slices --model models/frontline.tar.gz \
        [--floors tests/nlu/slices/floors.yml] [--out results/nlu]

Slices: ``holdout`` (``tests/nlu/holdout.yml``), the holdout perturbed four ways
(``frontline.tools.perturb``: typos, lower case, no punctuation, filler words) and
``non_native`` (``tests/nlu/slices/non_native.yml``, written apart from the training data).
Every message is parsed by the model as the Rasa server would, and counted as

- *right first time*: answered with the right intent (FAQ and small talk: the right answer);
- *right after one click*: asked "Did you mean …?" (``nlu_clarify``) with the right intent
  among the buttons;
- *asked to rephrase*: not understood (``nlu_fallback``), or asked without the right option;
- *confidently wrong*: answered with a wrong intent (a misroute);

and out-of-scope messages as *kept out* (not understood, asked, or answered as out of
scope), *answered otherwise* (small talk, a FAQ, a greeting: no flow starts) or *started a
flow* (answered with a business intent of ``policies/clarification.yml``); *caught* is all
but the last. Figures per
slice and per intent go to ``slices.json`` and ``slices.md`` in ``--out``; with
``--floors`` the exit status is 1 when a slice falls below its floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from frontline.tools.perturb import KINDS, perturb_examples
from frontline.tools.tune_thresholds import macro_f1

ROOT = Path(__file__).resolve().parents[2]
FALLBACK = "nlu_fallback"
CLARIFY = "nlu_clarify"
OUT_OF_SCOPE = "out_of_scope"
RETRIEVAL_INTENTS = ("faq", "chitchat")
IN_SCOPE_OUTCOMES = ("first_time", "after_click", "rephrase", "misrouted")
OUT_OF_SCOPE_OUTCOMES = ("kept_out", "answered_otherwise", "started_flow")


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs; retrieval intents in full (``faq/shipping_times``)."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get_full_intent()) for m in data.intent_examples]


def slices(holdout: Path, non_native: Path, seed: int) -> dict[str, list[tuple[str, str]]]:
    """Every slice's (text, intent) pairs, holdout first."""
    base = load_examples(holdout)
    result = {"holdout": base}
    for kind in KINDS:
        result[kind] = perturb_examples(base, kind, seed)
    result["non_native"] = load_examples(non_native)
    return result


def answered_intent(parsed: dict[str, Any]) -> str:
    """The intent answered, with the chosen answer for FAQ and small talk."""
    intent = parsed["intent"]["name"]
    if intent not in RETRIEVAL_INTENTS:
        return intent
    selectors = parsed.get("response_selector") or {}
    selected = selectors.get(intent) or selectors.get("default") or {}
    return (selected.get("response") or {}).get("intent_response_key") or intent


def classified_as(parsed: dict[str, Any]) -> str:
    """The classifier's own best intent, before the not-understood and clarify decisions
    (FAQ and small talk: with the chosen answer, when there is one)."""
    ranking = [
        r["name"]
        for r in parsed.get("intent_ranking") or [parsed["intent"]]
        if r["name"] not in (FALLBACK, CLARIFY)
    ]
    intent = ranking[0] if ranking else parsed["intent"]["name"]
    return answered_intent({**parsed, "intent": {"name": intent}})


def outcome(expected: str, parsed: dict[str, Any], business: frozenset[str]) -> str:
    """``first_time``, ``after_click``, ``rephrase``, ``misrouted``; out of scope:
    ``kept_out``, ``answered_otherwise`` or ``started_flow``."""
    intent = parsed["intent"]["name"]
    if expected == OUT_OF_SCOPE:
        if intent in (FALLBACK, CLARIFY, OUT_OF_SCOPE):
            return "kept_out"
        return "started_flow" if intent in business else "answered_otherwise"
    if intent == FALLBACK:
        return "rephrase"
    if intent == CLARIFY:
        offered = [o["intent"] for o in (parsed.get("clarification") or {}).get("options", [])]
        return "after_click" if expected in offered else "rephrase"
    return "first_time" if answered_intent(parsed) == expected else "misrouted"


def summarise(
    outcomes: Sequence[tuple[str, str]], classified: Sequence[tuple[str, str]] = ()
) -> dict[str, Any]:
    """Shares per slice and counts per intent of (expected, outcome) pairs; with
    (expected, classified as) pairs, the classifier's accuracy and macro-F1 too."""
    in_scope = [o for e, o in outcomes if e != OUT_OF_SCOPE]
    out_scope = [o for e, o in outcomes if e == OUT_OF_SCOPE]
    counts = Counter(in_scope)
    total = max(len(in_scope), 1)
    per_intent: dict[str, Counter[str]] = defaultdict(Counter)
    for expected, result in outcomes:
        per_intent[expected][result] += 1
    shares = {name: counts[name] / total for name in IN_SCOPE_OUTCOMES}
    return {
        "messages": len(outcomes),
        "in_scope_messages": len(in_scope),
        "out_of_scope_messages": len(out_scope),
        **shares,
        "resolved": shares["first_time"] + shares["after_click"],
        "out_of_scope_caught": 1 - out_scope.count("started_flow") / len(out_scope)
        if out_scope
        else 1.0,
        "out_of_scope_kept_out": out_scope.count("kept_out") / len(out_scope) if out_scope else 1.0,
        "classifier_accuracy": sum(e == c for e, c in classified) / len(classified)
        if classified
        else 0.0,
        "classifier_macro_f1": macro_f1(list(classified)) if classified else 0.0,
        "per_intent": {k: dict(v) for k, v in sorted(per_intent.items())},
    }


async def _parse_all(model: Path, texts: Sequence[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def evaluate(
    model: Path, all_slices: dict[str, list[tuple[str, str]]], business: frozenset[str]
) -> dict[str, Any]:
    """Parses every message of every slice (one model load) and summarises each slice."""
    texts = sorted({text for examples in all_slices.values() for text, _ in examples})
    parsed = dict(zip(texts, asyncio.run(_parse_all(model, texts)), strict=True))
    return {
        name: summarise(
            [(e, outcome(e, parsed[t], business)) for t, e in examples],
            [(e, classified_as(parsed[t])) for t, e in examples],
        )
        for name, examples in all_slices.items()
    }


def check_floors(results: dict[str, Any], floors: dict[str, Any]) -> list[str]:
    """The floors each slice misses (``min_resolved``, ``max_misrouted``, ...)."""
    problems = []
    for name, floor in floors.items():
        figures = results.get(name)
        if figures is None:
            problems.append(f"{name}: no such slice")
            continue
        for key, limit in floor.items():
            bound, metric = key.split("_", 1)
            value = figures[metric]
            if (bound == "min" and value < limit) or (bound == "max" and value > limit):
                problems.append(f"{name}: {metric} {value:.1%} is beyond its floor ({key} {limit})")
    return problems


def markdown(results: dict[str, Any], title: str) -> str:
    names = list(results)
    rows = [
        ("classifier alone: intent accuracy", "classifier_accuracy"),
        ("in-scope right first time", "first_time"),
        ("in-scope right after one click", "after_click"),
        ("in-scope right, total", "resolved"),
        ("in-scope asked to rephrase", "rephrase"),
        ("in-scope confidently wrong", "misrouted"),
        ("out-of-scope caught (no business flow started)", "out_of_scope_caught"),
        ("out-of-scope kept out (not understood, asked, or out of scope)", "out_of_scope_kept_out"),
    ]
    lines = [
        f"# {title}",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        "| messages | " + " | ".join(str(results[n]["messages"]) for n in names) + " |",
    ]
    for label, key in rows:
        lines.append(f"| {label} | " + " | ".join(f"{results[n][key]:.1%}" for n in names) + " |")
    lines.append(
        "| classifier alone: macro-F1 | "
        + " | ".join(f"{results[n]['classifier_macro_f1']:.3f}" for n in names)
        + " |"
    )
    lines += [
        "",
        "## Per intent: right first time / after one click / asked to rephrase / "
        "confidently wrong (out of scope: kept out / answered otherwise / started a flow)",
        "",
        "| intent | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    intents = sorted({i for n in names for i in results[n]["per_intent"]})
    for intent in intents:
        cells = []
        for name in names:
            counts = results[name]["per_intent"].get(intent, {})
            keys = OUT_OF_SCOPE_OUTCOMES if intent == OUT_OF_SCOPE else IN_SCOPE_OUTCOMES
            cells.append(" / ".join(str(counts.get(k, 0)) for k in keys))
        lines.append(f"| {intent} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "frontline.tar.gz")
    parser.add_argument("--holdout", type=Path, default=ROOT / "tests" / "nlu" / "holdout.yml")
    parser.add_argument(
        "--non-native", type=Path, default=ROOT / "tests" / "nlu" / "slices" / "non_native.yml"
    )
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--policies", type=Path, default=ROOT / "policies")
    parser.add_argument("--floors", type=Path, help="YAML: slice -> {min_resolved: 0.8, ...}")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "nlu")
    parser.add_argument("--prefix", default="slices", help="file names: PREFIX.json, .md")
    args = parser.parse_args(argv)

    from frontline.nlu.clarification_policy import load_clarification_policy

    business = load_clarification_policy(args.policies).offerable
    results = evaluate(args.model, slices(args.holdout, args.non_native, args.seed), business)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.prefix}.json").write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results, "NLU outcomes on the holdout and robustness slices")
    (args.out / f"{args.prefix}.md").write_text(report)
    print(report)
    if args.floors:
        floors = yaml.safe_load(args.floors.read_text(encoding="utf-8")) or {}
        problems = check_floors(results, floors)
        for problem in problems:
            print(f"FLOOR {problem}", file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    sys.exit(main())

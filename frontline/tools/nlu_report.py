"""Fails CI when held-out NLU results fall below the agreed bar.

Reads the ``intent_report.json`` written by ``rasa test nlu`` on the held-out split
(``tests/nlu/holdout.yml``, never used for training) and prints per-intent F1; with
``--response-report`` also the ResponseSelector's report (which FAQ or small-talk answer
was picked), held to its own minimum.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SUMMARY_KEYS = {"accuracy", "macro avg", "weighted avg", "micro avg"}


def _check(path: Path, minimum: float, what: str) -> bool:
    """Prints the per-label F1 of one report; True when its macro F1 reaches ``minimum``."""
    report = json.loads(path.read_text(encoding="utf-8"))
    for label, scores in sorted(report.items()):
        if label not in SUMMARY_KEYS:
            print(f"{label:32s} f1={scores['f1-score']:.3f} support={scores['support']}")
    macro_f1 = report["macro avg"]["f1-score"]
    print(f"{what}: accuracy={report['accuracy']:.3f} macro_f1={macro_f1:.3f} (minimum {minimum})")
    if macro_f1 < minimum:
        print(f"Held-out {what} F1 is below the minimum.", file=sys.stderr)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument(
        "--min-f1",
        type=float,
        help="minimum macro-average F1 (none: print only; `rasa test nlu` counts a "
        "'Did you mean' question as a wrong intent, so the classifier's own F1 is held to "
        "its floor by frontline.tools.nlu_slices)",
    )
    parser.add_argument(
        "--response-report",
        type=Path,
        help="response_selection_report.json: FAQ and small-talk answers picked by retrieval",
    )
    parser.add_argument("--min-response-f1", type=float, help="defaults to --min-f1")
    args = parser.parse_args(argv)
    passed = _check(args.report, args.min_f1 or 0.0, "intent")
    if args.response_report:
        minimum = args.min_response_f1 if args.min_response_f1 is not None else args.min_f1 or 0.0
        passed = _check(args.response_report, minimum, "response selection") and passed
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

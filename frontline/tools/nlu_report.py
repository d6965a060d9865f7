"""Fails CI when held-out NLU results fall below the agreed bar.

Reads the ``intent_report.json`` written by ``rasa test nlu`` on the held-out split
(``tests/nlu/holdout.yml``, never used for training) and prints per-intent F1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SUMMARY_KEYS = {"accuracy", "macro avg", "weighted avg", "micro avg"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--min-f1", type=float, required=True, help="minimum macro-average F1")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text(encoding="utf-8"))
    for intent, scores in sorted(report.items()):
        if intent not in SUMMARY_KEYS:
            print(f"{intent:24s} f1={scores['f1-score']:.3f} support={scores['support']}")
    macro_f1 = report["macro avg"]["f1-score"]
    print(f"accuracy={report['accuracy']:.3f} macro_f1={macro_f1:.3f} (minimum {args.min_f1})")
    if macro_f1 < args.min_f1:
        print("Held-out intent F1 is below the minimum.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

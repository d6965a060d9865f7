"""Offline validation of the escalation-risk model on held-out conversations.

    python -m bench.escalation_risk [--contacts 4000] [--seed 7]

Generated contacts (``frontline.risk.model.generated_contacts``; no customer data) are
split by conversation (70 % train, 30 % held out); the model is fitted on the training
side and the held-out side gives the AUC per turn and overall, and what an early
handoff at several thresholds would have done: assistant turns spared on contacts that
went to a person anyway, and the cost of contacts sent to a person needlessly (a person's
contact from ``policies/cost.yml``: default handle minutes plus wrap-up, at the minute
cost). Figures to ``bench/results/escalation_risk.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from frontline.policy import load_policy
from frontline.risk.model import (
    FEATURES,
    auc,
    early_handoff,
    fit,
    generated_contacts,
    risks,
    split_by_conversation,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
THRESHOLDS = (0.5, 0.6, 0.7, 0.8)


def person_contact_cost(policies: Path) -> float:
    rules = load_policy("cost", policies).rules
    minutes = float(rules["baseline_handle_minutes"]["default"]) + float(rules["wrap_up_minutes"])
    return minutes * float(rules["agent_minute_cost"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    train, held = split_by_conversation(generated_contacts(args.contacts, args.seed), 0.3, 1)
    model = fit(train)
    scores = risks(model, held)
    labels = [s.ended_with_person for s in held]
    per_turn = {}
    for turn in range(1, 6):
        pairs = [
            (y, p) for s, y, p in zip(held, labels, scores, strict=True) if s.turn_index == turn
        ]
        per_turn[turn] = round(auc([y for y, _ in pairs], [p for _, p in pairs]), 3)
    cost = person_contact_cost(ROOT / "policies")
    results = {
        "data": "generated",
        "contacts": args.contacts,
        "held_out_contacts": len({s.contact_id for s in held}),
        "features": list(FEATURES),
        "coefficients": dict(
            zip(FEATURES, (round(float(c), 3) for c in model[-1].coef_[0]), strict=True)
        ),
        "auc_all_turns": round(auc(labels, scores), 3),
        "auc_by_turn": per_turn,
        "person_contact_cost": round(cost, 2),
        "early_handoff": [early_handoff(held, scores, t, cost).as_dict() for t in THRESHOLDS],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "escalation_risk.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Escalation risk: held-out conversations (generated data)",
        "",
        f"AUC over all turns {results['auc_all_turns']}; by turn "
        + ", ".join(f"{k}: {v}" for k, v in per_turn.items()),
        "",
        "| threshold | escalated | caught early | assistant turns spared | false handoffs | "
        "their cost |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["early_handoff"]:
        lines.append(
            f"| {row['threshold']} | {row['escalated_contacts']} | {row['caught']} | "
            f"{row['assistant_turns_saved']} | {row['false_handoffs']} | "
            f"{row['false_handoff_cost']} |"
        )
    (args.out / "escalation_risk.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m frontline.policy_check``: validates every policy module (CI and start-up).

Each ``policies/*.yml`` is checked against its schema and, for the modules Frontline
reads, against the rules a schema cannot express; then the modules are checked
together (e.g. every consent rule names a declared write). Exit status 1 on any problem.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

from frontline.errors import ConfigurationError
from frontline.flags import definitions as flag_definitions
from frontline.nlu import clarification_policy
from frontline.outcomes import policy as outcome_policy
from frontline.policy.escalation import EscalationRules
from frontline.policy.loading import load_policy
from frontline.policy.registry import MODULE_NAMES, Policies, load_policies, typed_view
from frontline.release import policy as release_policy
from frontline.review import policy as review_policy
from frontline.settings import get_settings


def check_all(policies_dir: Path) -> list[str]:
    """Loads every ``*.yml`` policy in ``policies_dir``; returns the problems found."""
    problems = []
    found = set()
    for path in sorted(policies_dir.glob("*.yml")):
        try:
            module = load_policy(path.stem, policies_dir)
            typed_view(module)
            outcome_policy.typed_view(module)  # outcomes, cost, slo (frontline/outcomes/)
            flag_definitions.typed_view(module)  # flags (frontline/flags/)
            clarification_policy.typed_view(module)  # "Did you mean" (frontline/nlu/)
            release_policy.typed_view(module)  # gate and canary (frontline/release/)
            review_policy.typed_view(module)  # the review inbox (frontline/review/)
        except ConfigurationError as exc:
            problems.append(str(exc))
        else:
            found.add(module.name)
            print(f"ok  {module.name} {module.version} (owner {module.owner})")
    required = (
        MODULE_NAMES
        + outcome_policy.MODULE_NAMES
        + flag_definitions.MODULE_NAMES
        + release_policy.MODULE_NAMES
        + (review_policy.MODULE_NAME,)
    )
    missing = [name for name in required if not (policies_dir / f"{name}.yml").exists()]
    problems += [f"policy '{name}' is missing from {policies_dir}" for name in missing]
    if not problems:
        try:
            rules = load_policies(policies_dir)
        except ConfigurationError as exc:
            problems.append(str(exc))
        else:
            problems += _returns_within_the_guardrail(policies_dir, rules.escalation)
            problems += _flags_agree(policies_dir, rules)
    return problems


def _flags_agree(policies_dir: Path, rules: Policies) -> list[str]:
    """Every declared write has a flag; contact flags name self-service intents."""
    return flag_definitions.cross_check(flag_definitions.load_flags_policy(policies_dir), rules)


def _returns_within_the_guardrail(policies_dir: Path, escalation: EscalationRules) -> list[str]:
    """The returns flow may not promise automatic refunds the guardrail would refuse."""
    if not (policies_dir / "returns.yml").exists():
        return []
    refund = load_policy("returns", policies_dir).rules.get("refund") or {}
    write = escalation.writes.get("return_order")
    if write is None or write.money_limit is None or "max_automatic_amount" not in refund:
        return []
    flow_limit = Decimal(str(refund["max_automatic_amount"]))
    if flow_limit > write.money_limit.amount:
        return [
            f"policy 'returns' refunds up to {flow_limit} automatically, above the "
            f"{write.money_limit.amount} that policy 'escalation' lets the assistant refund "
            "(writes/return_order/money_limit)"
        ]
    return []


def main() -> int:
    problems = check_all(get_settings().policies_dir)
    for problem in problems:
        print(f"ERR {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

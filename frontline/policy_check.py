"""``python -m frontline.policy_check``: validates every policy module (CI and start-up)."""

from __future__ import annotations

import sys
from pathlib import Path

from frontline.errors import ConfigurationError
from frontline.policy import load_policy
from frontline.settings import get_settings


def check_all(policies_dir: Path) -> list[str]:
    """Loads every ``*.yml`` policy in ``policies_dir``; returns the problems found."""
    problems = []
    for path in sorted(policies_dir.glob("*.yml")):
        try:
            module = load_policy(path.stem, policies_dir)
        except ConfigurationError as exc:
            problems.append(str(exc))
        else:
            print(f"ok  {module.name} {module.version} (owner {module.owner})")
    return problems


def main() -> int:
    problems = check_all(get_settings().policies_dir)
    for problem in problems:
        print(f"ERR {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

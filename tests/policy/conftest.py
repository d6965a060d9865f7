"""Fixtures for the policy-as-code tests: editable copies of ``policies/``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"


def copy_policies(target: Path) -> Path:
    """A copy of ``policies/`` (modules and schemas) in ``target``."""
    shutil.copytree(POLICIES, target, dirs_exist_ok=True)
    return target


def edit_policy(folder: Path, name: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """Applies ``change`` to ``<folder>/<name>.yml`` (its parsed document) and saves it."""
    path = folder / f"{name}.yml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return folder


#: A scope restriction the tests add: gold customers' cancellations go to a concierge.
GOLD_CONCIERGE = {
    "id": "scope.gold_concierge",
    "intents": ["cancel_order"],
    "tiers": ["gold"],
    "rationale": "Gold customers' cancellations go to their concierge.",
}


def add_gold_concierge(folder: Path) -> Path:
    """Adds :data:`GOLD_CONCIERGE` to the scope policy in ``folder``."""
    return edit_policy(
        folder, "scope", lambda d: d["rules"]["restrictions"].append(dict(GOLD_CONCIERGE))
    )


def run_with_policies(folder: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """Runs ``python <args>`` in the repository with the policies of ``folder``."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=dict(os.environ, FRONTLINE_POLICIES_DIR=str(folder)),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def policies_copy(tmp_path) -> Path:
    """A fresh, editable copy of ``policies/``."""
    return copy_policies(tmp_path / "policies")


# The action-layer fixtures (real sandbox, SQLite queue), shared with tests/actions.
from tests.actions.conftest import backends, domain  # noqa: E402, F401

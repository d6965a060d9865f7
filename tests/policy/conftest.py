"""Fixtures for the policy-as-code tests: editable copies of ``policies/``."""

from __future__ import annotations

import shutil
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


@pytest.fixture
def policies_copy(tmp_path) -> Path:
    """A fresh, editable copy of ``policies/``."""
    return copy_policies(tmp_path / "policies")


# The action-layer fixtures (real sandbox, SQLite queue), shared with tests/actions.
from tests.actions.conftest import backends, domain  # noqa: E402, F401

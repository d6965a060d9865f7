"""The launcher checks versions, applies and verifies every patch, or runs stock Rasa.

The subprocess tests run ``python -m frontline.runtime`` as deployments do, in a fresh
interpreter; the in-process ones reach the refusals that a healthy install never shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from frontline.runtime import launcher, registry
from frontline.runtime.launcher import LaunchRefused, prepare_runtime, stock_mode
from frontline.runtime.patch import Patch, installed_version
from tests.support.processes import REPO_ROOT

ALL_PATCHES = [patch.name for patch in registry.load_patches()]


def run_launcher(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != launcher.STOCK_ENV}
    return subprocess.run(
        [sys.executable, "-m", "frontline.runtime", *args],
        cwd=REPO_ROOT,
        env=environment | (env or {}),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_launcher_applies_and_verifies_every_patch():
    finished = run_launcher("patches")
    assert finished.returncode == 0, finished.stderr
    assert f"Run-time patches applied and verified: {', '.join(ALL_PATCHES)}." in finished.stderr
    for name in ALL_PATCHES:
        assert f"{name}: " in finished.stdout
    assert finished.stdout.count("  applied: yes") == len(ALL_PATCHES)


def test_stock_mode_applies_no_patch_and_says_so():
    finished = run_launcher("patches", env={launcher.STOCK_ENV: "1"})
    assert finished.returncode == 0, finished.stderr
    assert "FRONTLINE_STOCK_RASA=1: stock Rasa 3.6.21, no run-time patch applied." in (
        finished.stderr
    )
    assert "applied and verified" not in finished.stderr
    assert finished.stdout.count("  applied: no") == len(ALL_PATCHES)


def _fake_distribution(folder: Path, name: str, version: str) -> Path:
    """A dist-info that ``importlib.metadata`` finds before the installed one."""
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return folder


def test_a_mismatched_upstream_version_refuses_to_start_and_names_it(tmp_path):
    fake = _fake_distribution(tmp_path, "sanic", "22.12.0")
    finished = run_launcher("run", "--help", env={"PYTHONPATH": f"{fake}{os.pathsep}{REPO_ROOT}"})
    assert finished.returncode == launcher.REFUSED_STATUS
    assert "refusing to start Rasa" in finished.stderr
    assert (
        "sanic: the patches were written for 21.12.2, found 22.12.0 (patches: sanic_workers)"
        in finished.stderr
    )
    assert "FRONTLINE_STOCK_RASA=1" in finished.stderr
    assert "usage: rasa run" not in finished.stdout  # Rasa never started


def test_stock_mode_starts_whatever_versions_are_installed(tmp_path):
    fake = _fake_distribution(tmp_path, "sanic", "22.12.0")
    finished = run_launcher(
        "run",
        "--help",
        env={"PYTHONPATH": f"{fake}{os.pathsep}{REPO_ROOT}", launcher.STOCK_ENV: "1"},
    )
    assert finished.returncode == 0, finished.stderr
    assert "usage: rasa run" in finished.stdout


def test_in_process_a_mismatch_refuses_and_nothing_is_applied():
    def lookup(package: str) -> str:
        return "0.0.1" if package == "rasa" else installed_version(package)

    with pytest.raises(
        LaunchRefused, match="rasa: the patches were written for 3.6.21, found 0.0.1"
    ):
        prepare_runtime({}, lookup)
    assert all(not patch.is_applied() for patch in registry.load_patches())


class _NoEffect(Patch):
    """A patch whose replacement does not stick, as when upstream moved the attribute."""

    def apply(self) -> None:
        pass


def test_a_patch_that_did_not_take_effect_refuses_the_start(monkeypatch):
    moved = _NoEffect(
        name="moved",
        reason="Why a patch: a test.",
        guarded_by={},
        versions={},
        replacements={"rasa.core.agent:Agent.load_model": print},
    )
    monkeypatch.setattr(registry, "load_patches", lambda: [moved])
    with pytest.raises(LaunchRefused, match=r"did not take effect[^\n]*\n  moved: rasa\.core"):
        prepare_runtime({})


def test_stock_mode_in_process_applies_nothing():
    assert prepare_runtime({launcher.STOCK_ENV: "1"}) == []
    assert all(not patch.is_applied() for patch in registry.load_patches())


@pytest.mark.parametrize(
    ("value", "stock"), [("1", True), ("true", True), ("yes", True), ("0", False), ("", False)]
)
def test_stock_mode_is_asked_for_by_a_true_value(value, stock):
    assert stock_mode({launcher.STOCK_ENV: value}) is stock


def test_the_former_entry_point_is_the_launcher():
    from frontline import rasa_server

    assert rasa_server.main is launcher.main

"""The test stories on the patched runtime, and on stock Rasa with the same predictions.

``make test-stories`` runs this module (marker ``stories``; it needs the trained model).
``rasa test core`` goes through the launcher as production does: once with every patch
applied, where every story must pass, and once with ``FRONTLINE_STOCK_RASA=1``, where
every story must get exactly the predictions it got on the patched runtime. Both runs
load the same model; each writes every story with its predictions (``--successes``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from frontline.runtime.launcher import STOCK_ENV
from tests.support.processes import REPO_ROOT

pytestmark = pytest.mark.stories

MODEL = REPO_ROOT / "models" / "frontline.tar.gz"
STORIES = REPO_ROOT / "tests" / "stories"


@dataclass
class StoriesRun:
    """One ``rasa test core`` run: its output folder and what it printed."""

    out: Path
    returncode: int
    log: str

    def stories(self, kind: str) -> dict[str, str]:
        """Story heading -> the story as tested (steps, with any wrong prediction noted)."""
        text = (self.out / f"{kind}_test_stories.yml").read_text()
        blocks = re.split(r"^(?=- story: )", text, flags=re.MULTILINE)[1:]
        return {block.splitlines()[0]: block for block in blocks}

    def all_stories(self) -> dict[str, str]:
        return self.stories("successful") | self.stories("failed")


def run_stories(out: Path, *, stock: bool) -> StoriesRun:
    env = {k: v for k, v in os.environ.items() if k != STOCK_ENV}
    if stock:
        env[STOCK_ENV] = "1"
    command = [
        sys.executable, "-m", "frontline.runtime", "test", "core", "--model", str(MODEL),
        "--stories", str(STORIES), "--out", str(out), "--successes", "--no-plot", "--quiet",
    ]  # fmt: skip
    finished = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800
    )
    return StoriesRun(out, finished.returncode, finished.stdout + finished.stderr)


@pytest.fixture(scope="module")
def patched(tmp_path_factory) -> StoriesRun:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    return run_stories(tmp_path_factory.mktemp("stories-patched"), stock=False)


@pytest.fixture(scope="module")
def stock(tmp_path_factory, patched) -> StoriesRun:
    return run_stories(tmp_path_factory.mktemp("stories-stock"), stock=True)


def test_every_test_story_passes_on_the_patched_runtime(patched):
    assert patched.returncode == 0, patched.log[-3000:]
    assert "Run-time patches applied and verified" in patched.log
    failed = patched.stories("failed")
    assert not failed, "stories with wrong predictions:\n" + "\n".join(failed.values())
    written = sum(text.count("- story:") for text in map(Path.read_text, STORIES.glob("*.yml")))
    assert len(patched.stories("successful")) == written > 30


def test_stock_rasa_predicts_the_same_for_every_story(patched, stock):
    assert stock.returncode == 0, stock.log[-3000:]
    assert "no run-time patch applied" in stock.log
    ours, stocks = patched.all_stories(), stock.all_stories()
    assert set(ours) == set(stocks)
    different = [name for name in ours if ours[name] != stocks[name]]
    assert not different, "\n".join(
        f"{name}\npatched:\n{ours[name]}\nstock:\n{stocks[name]}" for name in different
    )

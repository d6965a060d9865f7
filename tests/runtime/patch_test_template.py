"""Template of a new run-time patch's stock-equivalence test (copy, do not import).

Copy this file to ``tests/runtime/test_<patch name>.py`` and fill in the three marked
places. ``tests/runtime/test_registry.py`` already checks every registered patch's
bookkeeping (versions, targets, apply and revert, guard tests named); this file proves
the patch's *behaviour* equals stock Rasa's, on inputs that reach its edge cases: run
the same inputs through Rasa's own attribute and through the patched one and compare
everything a caller can observe (results, raised errors, events, state left behind).
Name these tests in the patch's ``guarded_by``.

Example: ``tests/runtime/test_graph_runner.py`` (random graphs against ``dask.get``),
``tests/runtime/test_dialogue_states.py`` (every story and rule of our data, event by
event, against Rasa's own computation).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# 1. The patch module.
from frontline.runtime.patches import graph_runner as patch_module  # <- your module

PATCH = patch_module.PATCH


def stock_result(case: Any) -> Any:
    """2. What Rasa's own attribute gives for ``case`` (call it with the patch reverted)."""
    raise NotImplementedError


def patched_result(case: Any) -> Any:
    """2. What the patched attribute gives for ``case`` (called with the patch applied)."""
    raise NotImplementedError


CASES: list[Any] = []  # 3. Inputs that reach the patch's edge cases, including errors.


@pytest.fixture
def patched() -> Iterator[None]:
    with PATCH.applied():
        yield


@pytest.mark.parametrize("case", CASES)
def test_the_patched_attribute_gives_stocks_result(case, patched):
    got = patched_result(case)
    PATCH.revert()
    assert got == stock_result(case)

"""Fixtures shared by the tests of the run-time patches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rasa.shared.core.domain import Domain

from frontline.runtime.registry import load_patches
from tests.support.stories import load_domain


@pytest.fixture(scope="module")
def domain() -> Domain:
    """Our domain, as Rasa loads it."""
    return load_domain()


@pytest.fixture(autouse=True)
def no_patch_left_applied() -> Iterator[None]:
    """Fails a test that leaves a run-time patch applied (later tests compare with stock)."""
    yield
    left = []
    for patch in load_patches():
        if len(patch.not_applied()) < len(patch.targets):
            patch.revert()
            left.append(patch.name)
    assert not left, f"the test left these patches applied: {left}"

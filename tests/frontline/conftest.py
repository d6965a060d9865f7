"""Fixtures shared by the tests of Frontline's Rasa plug-ins."""

from __future__ import annotations

import pytest
from rasa.shared.core.domain import Domain

from tests.support.stories import load_domain


@pytest.fixture(scope="module")
def domain() -> Domain:
    """Our domain, as Rasa loads it."""
    return load_domain()

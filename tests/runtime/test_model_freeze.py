"""A loaded model is left out of the collector's full passes (patches/model_freeze.py)."""

from __future__ import annotations

import gc
import weakref

import pytest

from frontline.runtime.patches.model_freeze import PATCH, freeze_after_load


class _Model:
    """A model-like object graph: nodes in a reference cycle, freed only by the collector."""

    def __init__(self, size: int) -> None:
        self.nodes = [{"id": n} for n in range(size)]
        self.self_reference = self


class _Agent:
    def __init__(self) -> None:
        self.model: _Model | None = None

    def load_model(self, size: int) -> None:
        self.model = _Model(size)


@pytest.fixture
def unfrozen_afterwards():
    yield
    gc.unfreeze()


def test_a_loaded_model_is_left_out_of_later_collections(unfrozen_afterwards):
    agent = _Agent()
    freeze_after_load(_Agent.load_model)(agent, 5000)

    assert gc.get_freeze_count() >= 5000
    tracked = {id(o) for o in gc.get_objects()}  # the collector's generations only
    assert id(agent.model) not in tracked
    assert not any(id(node) in tracked for node in agent.model.nodes)


def test_a_replaced_model_is_freed_not_kept_frozen(unfrozen_afterwards):
    agent = _Agent()
    load = freeze_after_load(_Agent.load_model)
    load(agent, 100)
    first = weakref.ref(agent.model)

    load(agent, 100)

    assert first() is None
    assert agent.model is not None


def test_the_wrapper_passes_every_argument_to_rasas_load_model(unfrozen_afterwards):
    calls = []

    def load_model(self, model_path, fingerprint=None):
        calls.append((self, model_path, fingerprint))

    wrapped = freeze_after_load(load_model)
    assert wrapped("agent", "models/x.tar.gz", fingerprint="abc") is None
    assert calls == [("agent", "models/x.tar.gz", "abc")]
    assert (wrapped.__name__, wrapped.__wrapped__) == ("load_model", load_model)
    from rasa.core.agent import Agent

    assert PATCH.replacements["rasa.core.agent:Agent.load_model"].__wrapped__ is Agent.load_model

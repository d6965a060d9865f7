"""The graph runner without dask gives dask's results (patches/graph_runner.py)."""

from __future__ import annotations

import random

import dask
import pytest
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

from frontline.runtime.patches import graph_runner
from frontline.runtime.patches.graph_runner import evaluate


class Node:
    """A graph node as Rasa builds them: called with its inputs' ``(name, value)`` pairs."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name, self.calls = name, calls

    def __call__(self, *inputs: tuple[str, object]) -> tuple[str, object]:
        self.calls.append(self.name)
        return self.name, (self.name, tuple(inputs))


def random_graph(seed: int, calls: list[str]) -> tuple[dict, list[str]]:
    """A random minimal DAG with shared dependencies and a ``(name, value)`` input."""
    rng = random.Random(seed)
    graph: dict = {"__message__": ("__message__", {"text": "hi"})}
    names: list[str] = ["__message__"]
    for index in range(rng.randint(3, 25)):
        name = f"node_{index}"
        needs = rng.sample(names, k=rng.randint(0, min(3, len(names))))
        graph[name] = (Node(name, calls), *needs)
        names.append(name)
    targets = rng.sample(names[1:], k=rng.randint(1, min(4, len(names) - 1)))
    # Rasa hands the runner the minimal schema for its targets: their ancestors only.
    needed, pending = set(), list(targets)
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending.extend(graph[name][1:] if name != "__message__" else ())
    return {name: node for name, node in graph.items() if name in needed}, targets


@pytest.mark.parametrize("seed", range(40))
def test_the_values_are_dasks_and_each_needed_node_runs_once(seed):
    dask_calls: list[str] = []
    graph, targets = random_graph(seed, dask_calls)
    expected = list(dask.get(graph, targets))
    our_calls: list[str] = []
    graph, targets = random_graph(seed, our_calls)
    assert evaluate(graph, targets) == expected
    assert sorted(our_calls) == sorted(dask_calls)
    assert len(our_calls) == len(set(our_calls))


def test_each_node_runs_after_the_nodes_it_needs():
    calls: list[str] = []
    graph, targets = random_graph(7, calls)
    evaluate(graph, targets)
    position = {name: index for index, name in enumerate(calls)}
    for name in calls:
        for need in graph[name][1:]:
            if need in position:
                assert position[need] < position[name]


class _Runner:
    """The parts of ``DaskGraphRunner`` that ``run`` uses, over a hand-made graph."""

    _add_inputs_to_graph = staticmethod(DaskGraphRunner._add_inputs_to_graph)

    def __init__(self, graph: dict, targets: list[str]) -> None:
        self.graph, self.builds = graph, 0
        self._graph_schema = self
        self.target_names = targets
        self._execution_context = None

    def minimal_graph_schema(self, targets: list[str]) -> _Runner:
        return self

    def _build_dask_graph(self, schema: _Runner) -> dict:
        self.builds += 1
        return dict(self.graph)


def test_the_runner_builds_each_targets_graph_once_and_adds_each_runs_inputs():
    def reader(*inputs):
        return "reader", dict(inputs)["__message__"]

    runner = _Runner({"reader": (reader, "__message__")}, ["reader"])
    first = graph_runner.run_in_dependency_order(runner, {"__message__": "hello"})
    second = graph_runner.run_in_dependency_order(runner, {"__message__": "bye"})
    assert (first, second) == ({"reader": "hello"}, {"reader": "bye"})
    assert runner.builds == 1
    assert "__message__" not in runner.graph  # inputs go to each run's copy


def test_a_runtime_error_is_reported_as_rasa_reports_it():
    def broken(*_inputs):
        raise RuntimeError("boom")

    runner = _Runner({"broken": (broken,)}, ["broken"])
    with pytest.raises(GraphRunError, match="Error running runner"):
        graph_runner.run_in_dependency_order(runner)

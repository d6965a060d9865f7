"""Runs Rasa's model graph without dask's scheduler on every message.

Why a patch: Rasa 3.6 runs its graph (the NLU pipeline for each message, the policies
for each prediction, several times per turn; and the training graph) through
``dask.get``. For every run it derives the minimal schema for the targets, rebuilds the
task graph and has dask order and execute it: about a tenth of the Rasa server's CPU
under ``make bench``, for graphs of a dozen nodes that form a simple chain. The runner
class is not configurable (``rasa.engine.runner.dask.DaskGraphRunner`` is named in
Rasa's loading and training code), so :func:`run_in_dependency_order` replaces
``DaskGraphRunner.run`` with the same contract:
the same nodes are called with the same inputs (each node after the nodes it needs),
the result is the same mapping of target to output, and errors are the same. The
minimal task graph for a set of targets is built once per runner and reused; each run
gets its own copy with the run's inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from typing import Any

from rasa.engine.exceptions import GraphRunError

from frontline.runtime.patch import Patch

logger = logging.getLogger(__name__)

_GRAPHS_ATTRIBUTE = "_frontline_graphs"


def _is_task(value: Any) -> bool:
    return isinstance(value, tuple) and bool(value) and callable(value[0])


def evaluate(graph: dict[str, Any], targets: list[str]) -> list[Any]:
    """The values of ``targets`` in a dask-style task graph, each node computed once.

    A task is a tuple ``(callable, *argument_keys)``; any other value is a literal (Rasa
    puts run inputs in the graph as ``(name, value)`` tuples, which dask also treats as
    literals). Arguments that are keys of the graph are replaced by their values.
    """
    values: dict[str, Any] = {}

    def value_of(key: Any) -> Any:
        if key in values:
            return values[key]
        node = graph[key]
        if _is_task(node):
            arguments = [
                value_of(arg) if isinstance(arg, Hashable) and arg in graph else arg
                for arg in node[1:]
            ]
            result = node[0](*arguments)
        else:
            result = node
        values[key] = result
        return result

    return [value_of(target) for target in targets]


def run_in_dependency_order(
    self: Any, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
) -> dict[str, Any]:
    """``DaskGraphRunner.run`` without dask (see the module's docstring)."""
    run_targets = targets if targets else self._graph_schema.target_names
    graphs: dict[tuple[str, ...], dict[str, Any]] = self.__dict__.setdefault(_GRAPHS_ATTRIBUTE, {})
    key = tuple(run_targets)
    if key not in graphs:
        minimal_schema = self._graph_schema.minimal_graph_schema(run_targets)
        graphs[key] = self._build_dask_graph(minimal_schema)
    run_graph = dict(graphs[key])
    if inputs:
        self._add_inputs_to_graph(inputs, run_graph)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "Running graph with inputs: %s, targets: %s and %s.",
            inputs,
            targets,
            self._execution_context,
        )
    try:
        return dict(evaluate(run_graph, list(run_targets)))
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


PATCH = Patch(
    name="graph_runner",
    reason=__doc__,
    guarded_by={
        "tests/runtime/test_graph_runner.py": (
            "test_the_values_are_dasks_and_each_needed_node_runs_once",
            "test_each_node_runs_after_the_nodes_it_needs",
            "test_a_runtime_error_is_reported_as_rasa_reports_it",
        ),
    },
    versions={"rasa": "3.6.21", "dask": "2022.10.2"},
    replacements={"rasa.engine.runner.dask:DaskGraphRunner.run": run_in_dependency_order},
)

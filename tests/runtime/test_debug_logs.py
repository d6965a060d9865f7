"""Work Rasa does for debug log lines happens only while debugging (patches/debug_logs.py)."""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import logging
from collections.abc import Iterator

import pytest
from rasa.core.policies.policy import Policy

from frontline.runtime.patches.debug_logs import DEBUG_ONLY_COPY_MODULES, PATCH


@pytest.fixture
def patched() -> Iterator[None]:
    with PATCH.applied():
        yield


@pytest.fixture
def rasa_log_level() -> Iterator[logging.Logger]:
    rasa_logger = logging.getLogger("rasa")
    level = rasa_logger.level
    try:
        yield rasa_logger
    finally:
        rasa_logger.setLevel(level)


@pytest.mark.parametrize("module_name", DEBUG_ONLY_COPY_MODULES)
def test_every_deepcopy_in_those_rasa_modules_is_for_a_debug_log_line(module_name):
    module = importlib.import_module(module_name)
    tree = ast.parse(inspect.getsource(module))
    inside_debug_calls = {
        id(node)
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "debug"
        for node in ast.walk(call)
    }
    uses_of_copy = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "copy"
    ]
    assert uses_of_copy, "the module no longer uses copy: drop it from the list"
    for node in uses_of_copy:
        assert (
            node.attr == "deepcopy" and id(node) in inside_debug_calls
        ), f"{module_name} line {node.lineno}: copy.{node.attr} outside a debug log call"


def test_debug_log_copies_are_made_only_when_debugging(patched, rasa_log_level):
    from rasa.core import processor

    events = [{"event": "slot", "value": [1]}]
    rasa_log_level.setLevel(logging.INFO)
    assert processor.copy.deepcopy(events) is events
    rasa_log_level.setLevel(logging.DEBUG)
    copied = processor.copy.deepcopy(events)
    assert copied == events and copied is not events and copied[0] is not events[0]
    assert processor.copy.copy is copy.copy


def test_tracker_states_are_formatted_only_when_debugging(patched, rasa_log_level):
    states = [{"user": {"intent": "greet"}}]
    rasa_log_level.setLevel(logging.INFO)
    assert Policy.format_tracker_states(states) == ""
    rasa_log_level.setLevel(logging.DEBUG)
    formatted = Policy.format_tracker_states(states)
    PATCH.revert()
    assert formatted == Policy.format_tracker_states(states) and "greet" in formatted

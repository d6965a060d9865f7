"""The Rasa server's run-time fixes keep Rasa's behaviour (frontline/rasa_server.py)."""

from __future__ import annotations

import ast
import copy
import gc
import importlib
import inspect
import logging
import weakref

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from frontline import rasa_server
from frontline.rasa_server import _validator_for_schema, validate_with_cached_schema

SCHEMA = {"type": "object", "properties": {"events": {"type": "array"}}, "required": ["events"]}


@pytest.mark.parametrize(
    "instance",
    [{"events": "not a list"}, {}, {"events": [], "extra": 1, "responses": 3}],
)
def test_the_same_instances_pass_and_fail_as_with_jsonschema(instance):
    try:
        jsonschema.validate(instance, SCHEMA)
        expected = None
    except jsonschema.ValidationError as exc:
        expected = exc.message
    try:
        validate_with_cached_schema(instance, SCHEMA)
        got = None
    except jsonschema.ValidationError as exc:
        got = exc.message
    assert got == expected


def test_each_schema_is_checked_once():
    _validator_for_schema.cache_clear()
    for _ in range(5):
        validate_with_cached_schema({"events": []}, dict(SCHEMA))  # equal, new dict each time
    info = _validator_for_schema.cache_info()
    assert (info.misses, info.hits) == (1, 4)


def test_an_invalid_schema_is_still_refused():
    with pytest.raises(jsonschema.SchemaError):
        validate_with_cached_schema({}, {"type": "no such type"})


def test_rasa_validates_action_responses_through_the_cache(monkeypatch):
    monkeypatch.setattr(jsonschema, "validate", jsonschema.validate)  # restored afterwards
    monkeypatch.setattr(jsonschema.validators, "validate", jsonschema.validators.validate)
    rasa_server.cache_schema_validators()
    _validator_for_schema.cache_clear()
    action = RemoteAction("action_check_order_status", EndpointConfig("http://127.0.0.1:1"))

    assert action._validate_action_result({"events": [], "responses": []})
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server"):
        action._validate_action_result({"events": [{"event": "no_such_event"}]})
    assert _validator_for_schema.cache_info().hits >= 1


def test_action_responses_are_checked_against_one_shared_schema(monkeypatch):
    monkeypatch.setattr(jsonschema, "validate", jsonschema.validate)  # restored afterwards
    monkeypatch.setattr(jsonschema.validators, "validate", jsonschema.validators.validate)
    monkeypatch.setattr(
        RemoteAction,
        "action_response_format_spec",
        RemoteAction.__dict__["action_response_format_spec"],
    )
    rasa_server.cache_schema_validators()
    rasa_server.share_action_response_schema()
    rasa_server.share_action_response_schema()  # idempotent
    action = RemoteAction("action_check_order_status", EndpointConfig("http://127.0.0.1:1"))

    assert RemoteAction.action_response_format_spec() is action.action_response_format_spec()
    valid = {"events": [{"event": "slot", "name": "order_id", "value": "A1"}], "responses": []}
    assert action._validate_action_result(valid)
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server"):
        action._validate_action_result({"events": [{"event": "slot", "name": "order_id"}]})


@pytest.mark.parametrize("module_name", rasa_server.DEBUG_ONLY_COPY_MODULES)
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


def test_debug_log_copies_are_made_only_when_debugging(monkeypatch):
    from rasa.core import processor

    monkeypatch.setattr(processor, "copy", processor.copy)  # restored afterwards
    rasa_server.copy_only_for_debug_logs()
    events = [{"event": "slot", "value": [1]}]
    rasa_logger = logging.getLogger("rasa")
    level = rasa_logger.level
    try:
        rasa_logger.setLevel(logging.INFO)
        assert processor.copy.deepcopy(events) is events
        rasa_logger.setLevel(logging.DEBUG)
        copied = processor.copy.deepcopy(events)
    finally:
        rasa_logger.setLevel(level)
    assert copied == events and copied is not events and copied[0] is not events[0]
    assert processor.copy.copy is copy.copy


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
    rasa_server.freeze_after_load(_Agent.load_model)(agent, 5000)

    assert gc.get_freeze_count() >= 5000
    tracked = {id(o) for o in gc.get_objects()}  # the collector's generations only
    assert id(agent.model) not in tracked
    assert not any(id(node) in tracked for node in agent.model.nodes)


def test_a_replaced_model_is_freed_not_kept_frozen(unfrozen_afterwards):
    agent = _Agent()
    load = rasa_server.freeze_after_load(_Agent.load_model)
    load(agent, 100)
    first = weakref.ref(agent.model)

    load(agent, 100)

    assert first() is None
    assert agent.model is not None


def test_agent_load_model_is_wrapped_once(monkeypatch):
    from rasa.core.agent import Agent

    monkeypatch.setattr(Agent, "load_model", Agent.load_model)  # restored afterwards
    rasa_server.freeze_loaded_models()
    wrapped = Agent.load_model
    rasa_server.freeze_loaded_models()

    assert Agent.load_model is wrapped
    assert wrapped.frontline_freezes

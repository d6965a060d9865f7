"""The Rasa server's run-time fixes keep Rasa's behaviour (frontline/rasa_server.py)."""

from __future__ import annotations

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

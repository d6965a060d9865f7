"""Rasa's check of action responses gives jsonschema's verdicts (patches/schema_check.py)."""

from __future__ import annotations

from collections.abc import Iterator

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from frontline.runtime.patches.schema_check import (
    _ORIGINAL_ACTION_RESPONSE_FORMAT_SPEC,
    PATCH,
    _validator_for_schema,
    validate_with_cached_schema,
)

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


@pytest.fixture
def patched() -> Iterator[None]:
    with PATCH.applied():
        yield


def test_rasa_validates_action_responses_through_the_cache(patched):
    _validator_for_schema.cache_clear()
    action = RemoteAction("action_check_order_status", EndpointConfig("http://127.0.0.1:1"))

    assert action._validate_action_result({"events": [], "responses": []})
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server"):
        action._validate_action_result({"events": [{"event": "no_such_event"}]})
    assert _validator_for_schema.cache_info().hits >= 1


def test_action_responses_are_checked_against_one_shared_schema(patched):
    PATCH.apply()  # idempotent
    action = RemoteAction("action_check_order_status", EndpointConfig("http://127.0.0.1:1"))

    assert RemoteAction.action_response_format_spec() is action.action_response_format_spec()
    valid = {"events": [{"event": "slot", "name": "order_id", "value": "A1"}], "responses": []}
    assert action._validate_action_result(valid)
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server"):
        action._validate_action_result({"events": [{"event": "slot", "name": "order_id"}]})
    # The shared schema is Rasa's.
    assert RemoteAction.action_response_format_spec() == _ORIGINAL_ACTION_RESPONSE_FORMAT_SPEC()

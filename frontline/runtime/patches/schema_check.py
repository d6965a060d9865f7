"""Rasa's check of action server responses, with the schema checked and compiled once.

Why a patch: Rasa validates every action server response (and every event posted to its
HTTP API) with ``jsonschema.validate``, which first checks the *schema* against the JSON
Schema meta-schema on every call. With jsonschema 4.17 and no ``$schema`` in Rasa's
schemas that is the 2020-12 meta-schema, whose dynamic references made it a third of
the Rasa server's CPU under ``make bench``; and Rasa builds its 3.7 kB action response
schema anew for every call. No Rasa setting or seam chooses the validator, so
``jsonschema.validate`` (looked up by Rasa at each call) is replaced by
:func:`validate_with_cached_schema`: each distinct schema is checked once, a valid
instance is recognised by a compiled check (:mod:`frontline.runtime.fast_schema_check`)
and anything else goes to jsonschema, which words the error as before; and
``RemoteAction.action_response_format_spec`` returns one shared schema object.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators as jsonschema_validators
from rasa.core.actions.action import RemoteAction

from frontline.runtime.fast_schema_check import compile_check
from frontline.runtime.patch import Patch

_ORIGINAL_VALIDATE: Callable[..., None] = jsonschema_validators.validate
_ORIGINAL_ACTION_RESPONSE_FORMAT_SPEC: Callable[
    [], dict[str, Any]
] = RemoteAction.action_response_format_spec


@functools.lru_cache(maxsize=128)
def _validator_for_schema(schema_json: str) -> Any:
    """A validator of the schema ``schema_json``, whose schema was checked once."""
    schema = json.loads(schema_json)
    validator_class = jsonschema_validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@functools.lru_cache(maxsize=128)
def _fast_check_for_schema(schema_json: str) -> Callable[[Any], bool] | None:
    """A compiled check of the schema ``schema_json`` (``fast_schema_check``)."""
    return compile_check(json.loads(schema_json))


#: Schemas used for every call, by identity, with their JSON key.
_shared_schemas: dict[int, tuple[Mapping[str, Any], str]] = {}


def validate_with_cached_schema(
    instance: Any, schema: Mapping[str, Any], cls: Any = None, *args: Any, **kwargs: Any
) -> None:
    """``jsonschema.validate`` with the schema check and validator built once per schema.

    Same contract as :func:`jsonschema.validate`: raises ``ValidationError`` for an invalid
    instance (the best match, as jsonschema picks it) and ``SchemaError`` for an invalid
    schema. Calls with an explicit validator class or options, or a schema that is not
    plain JSON, go to the original function.
    """
    if cls is not None or args or kwargs:
        _ORIGINAL_VALIDATE(instance, schema, cls, *args, **kwargs)
        return
    key = _schema_key(schema)
    if key is None:
        _ORIGINAL_VALIDATE(instance, schema)
        return
    validator = _validator_for_schema(key)
    fast_check = _fast_check_for_schema(key)
    if fast_check is not None and fast_check(instance):
        return
    # Refused (or no fast check): jsonschema decides, and words the error as Rasa expects.
    error = jsonschema_exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise error


def _schema_key(schema: Mapping[str, Any]) -> str | None:
    """The schema as sorted JSON (None if it is not plain JSON); shared schemas' is kept."""
    shared = _shared_schemas.get(id(schema))
    if shared is not None and shared[0] is schema:
        return shared[1]
    try:
        return json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError):
        return None


def _shared_action_response_schema() -> Callable[[], dict[str, Any]]:
    """``RemoteAction.action_response_format_spec`` returning one schema object.

    It is the same schema every time (and nothing edits it); one object lets the
    validator find its checks by identity rather than encoding the schema to JSON for
    every action call.
    """
    schema = _ORIGINAL_ACTION_RESPONSE_FORMAT_SPEC()
    _shared_schemas[id(schema)] = (schema, json.dumps(schema, sort_keys=True))

    def shared_action_response_schema() -> dict[str, Any]:
        return schema

    return shared_action_response_schema


PATCH = Patch(
    name="schema_check",
    reason=__doc__,
    guarded_by={
        # Same verdicts and errors as jsonschema, also through Rasa's own check.
        "tests/runtime/test_schema_check.py": (
            "test_the_same_instances_pass_and_fail_as_with_jsonschema",
            "test_rasa_validates_action_responses_through_the_cache",
            "test_action_responses_are_checked_against_one_shared_schema",
        ),
        # The compiled check against jsonschema on every event type and on mutations.
        "tests/runtime/test_fast_schema_check.py": (
            "test_every_event_the_sdk_makes_is_valid_for_both",
            "test_hand_made_responses_get_jsonschemas_verdict",
            "test_random_mutations_of_valid_responses_get_jsonschemas_verdict",
        ),
    },
    versions={"rasa": "3.6.21", "jsonschema": "4.17.3"},
    replacements={
        # Rasa does ``from jsonschema import validate`` inside the function, at each call.
        "jsonschema:validate": validate_with_cached_schema,
        "jsonschema.validators:validate": validate_with_cached_schema,
        "rasa.core.actions.action:RemoteAction.action_response_format_spec": (
            _shared_action_response_schema()
        ),
    },
)

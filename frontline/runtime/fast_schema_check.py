"""Fast checks of JSON against Rasa's schemas, above all its action server responses.

Rasa validates every action server response with ``jsonschema``. Its event schema is a
``oneOf`` over 25 event types, so each event is checked against all 25 to prove that
exactly one matches: about 1 ms per action call, in the Rasa server's event loop. Compiled
by fastjsonschema the ``oneOf`` is still 0.5 ms, because each failing alternative raises
and formats an exception.

The event types differ by a ``const`` on one required property (``"event": "slot"``), so
an event can only match the alternative whose constant it carries: checking that one
alternative decides the ``oneOf`` exactly. :func:`compile_check` compiles the action
response schema that way, and other schemas with fastjsonschema as they are; the result
says whether an instance is valid. Callers ask ``jsonschema`` about instances it refuses,
for the error Rasa reports (and so that jsonschema has the last word on refusals).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from typing import Any

import fastjsonschema

logger = logging.getLogger(__name__)

#: The property that names an event's type in Rasa's event schema.
DISCRIMINATOR = "event"

Check = Callable[[Any], bool]


def compile_check(schema: Mapping[str, Any]) -> Check | None:
    """A function telling whether an instance is valid against ``schema``.

    Returns:
        The check, or None if fastjsonschema cannot compile the schema.
    """
    return compile_action_response_check(schema) or _compiled(schema)


def compile_action_response_check(schema: Mapping[str, Any]) -> Check | None:
    """A check of ``schema``, an object whose ``events`` are an array of typed events.

    Returns:
        A function telling whether an instance is valid, exactly as ``jsonschema`` would
        decide; None when ``schema`` does not have the shape this relies on.
    """
    events = schema.get("properties", {}).get("events") if isinstance(schema, Mapping) else None
    if not (
        isinstance(events, Mapping)
        and set(events) == {"type", "items"}
        and events["type"] == "array"
    ):
        return None
    event_check = _compile_discriminated_one_of(events["items"], DISCRIMINATOR)
    if event_check is None:
        return None
    outer = copy.deepcopy(dict(schema))
    outer["properties"]["events"] = {"type": "array"}
    outer_check = _compiled(outer)
    if outer_check is None:
        return None

    def check_action_response(instance: Any) -> bool:
        if not outer_check(instance):
            return False
        # The outer check proved the instance an object and any events an array.
        return all(event_check(event) for event in instance.get("events") or ())

    return check_action_response


def _compile_discriminated_one_of(node: Any, key: str) -> Check | None:
    """A check of an object schema whose ``oneOf`` alternatives differ by ``key``'s const.

    The node must require ``key`` and be of type object; each alternative must pin
    ``key`` to a different string. An instance then satisfies the ``oneOf`` exactly when
    it satisfies the alternative for its ``key`` (every other alternative's const fails).
    """
    if not isinstance(node, Mapping):
        return None
    alternatives = node.get("oneOf")
    if (
        node.get("type") != "object"
        or key not in node.get("required", ())
        or not isinstance(alternatives, list)
        or not alternatives
    ):
        return None
    by_value: dict[str, Check] = {}
    for alternative in alternatives:
        if not isinstance(alternative, Mapping):
            return None
        pinned = alternative.get("properties", {}).get(key)
        value = pinned.get("const") if isinstance(pinned, Mapping) else None
        compiled = _compiled(alternative)
        if not isinstance(value, str) or value in by_value or compiled is None:
            return None
        by_value[value] = compiled
    base = _compiled({name: rule for name, rule in node.items() if name != "oneOf"})
    if base is None:
        return None

    def check_event(instance: Any) -> bool:
        if not base(instance):
            return False
        # ``base`` proved an object with ``key``; a non-string value matches no const.
        value = instance[key]
        alternative = by_value.get(value) if isinstance(value, str) else None
        return alternative is not None and alternative(instance)

    return check_event


def _compiled(schema: Mapping[str, Any]) -> Check | None:
    try:
        # use_default=False: never write a schema's defaults into the checked instance.
        validate = fastjsonschema.compile(dict(schema), use_default=False)
    except fastjsonschema.JsonSchemaDefinitionException:
        logger.debug("fastjsonschema cannot compile %r", schema)
        return None

    def is_valid(instance: Any) -> bool:
        try:
            validate(instance)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    return is_valid

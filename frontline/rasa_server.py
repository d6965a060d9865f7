"""Starts Rasa's command line with Frontline's run-time fixes applied.

    python -m frontline.rasa_server run --model models/frontline.tar.gz ...

Everything after the module name goes to Rasa's own command line unchanged; the fixes
are applied first, explicitly, rather than as a side effect of importing a plug-in.

The fixes (found by profiling the Rasa server under ``make bench``, see
``docs/notes/issue-7.md``):

* Rasa validates every action server response (and every event posted to the HTTP API)
  with ``jsonschema.validate``, which checks the *schema* against the JSON Schema
  meta-schema on every call before checking the response. With jsonschema 4.17 and no
  ``$schema`` in Rasa's schemas that is the 2020-12 meta-schema, whose dynamic
  references made it a third of the Rasa server's CPU time under load.
  :func:`cache_schema_validators` checks each distinct schema once and reuses its
  validator; responses are still validated in full, with the same errors. Checking a
  valid response (nearly all are) is left to a compiled check
  (:mod:`frontline.fast_schema_check`): jsonschema's walk of the 25-way ``oneOf`` over
  event types took about 1 ms per action call. Rasa's action response schema is built
  once (:func:`share_action_response_schema`), not once per call.
* The rule and memoization policies recompute the dialogue states of the whole session
  for every prediction, and the rule policy formats them all for a debug line even when
  debug logging is off, so each turn costs more the longer the conversation.
  :mod:`frontline.dialogue.incremental_states` computes states once per event, with the
  same result.
* Every action call carries the whole tracker; in a long conversation encoding and
  parsing it dominates. :mod:`frontline.dialogue.action_history` sends the events of the
  last ``history_turns`` messages plus a compacted rest (``endpoints.yml``).
* A loaded model is about half a million Python objects (vocabularies, the TensorFlow
  graph, the policies' lookup tables) that live as long as the model. Python's full
  garbage collection walks all of them each time, a pause of 150-350 ms for every
  conversation the server is serving. :func:`freeze_loaded_models` moves them out of the
  collector's reach once a model is loaded (``gc.freeze``); a model replaced later is
  released to the collector first, so reloading does not leak.
* With ``SANIC_WORKERS`` > 1, Sanic 21.12 lets the first worker to load its model take
  every early connection, and keep-alive connections never move: one worker served all
  the traffic. :mod:`frontline.sanic_workers` gives each worker its own ``SO_REUSEPORT``
  socket, opened once every worker has loaded.
* Rasa deep-copies events, states and parse data for its debug log lines whether or
  not debug logging is on: :func:`copy_only_for_debug_logs`.
* Every run of the model graph (the NLU pipeline per message, the policies per
  prediction) went through dask's scheduler, which rebuilt and ordered the task graph
  each time: about a tenth of the server's CPU. :mod:`frontline.graph_runner` runs the
  same nodes in dependency order, with the task graph built once per set of targets.
"""

from __future__ import annotations

import copy
import functools
import gc
import importlib
import json
import logging
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators as jsonschema_validators

from frontline.fast_schema_check import compile_check
from frontline.sanic_workers import balance_sanic_workers

logger = logging.getLogger(__name__)

_ORIGINAL_VALIDATE: Callable[..., None] = jsonschema.validate


@functools.lru_cache(maxsize=128)
def _validator_for_schema(schema_json: str) -> Any:
    """A validator of the schema ``schema_json``, whose schema was checked once."""
    schema = json.loads(schema_json)
    validator_class = jsonschema_validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@functools.lru_cache(maxsize=128)
def _fast_check_for_schema(schema_json: str) -> Callable[[Any], bool] | None:
    """A compiled check of the schema ``schema_json`` (:mod:`frontline.fast_schema_check`)."""
    return compile_check(json.loads(schema_json))


#: Schemas used for every call, by identity, with their JSON key
#: (:func:`share_action_response_schema`).
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


def share_action_response_schema() -> None:
    """Makes Rasa use one action response schema object instead of a new one per call.

    It is the same schema every time (and nothing edits it); one object lets the
    validator find its checks by identity rather than encoding 3.7 kB of schema to JSON
    for every action call.
    """
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction.action_response_format_spec, "frontline_shared", False):
        return
    schema = RemoteAction.action_response_format_spec()
    _shared_schemas[id(schema)] = (schema, json.dumps(schema, sort_keys=True))

    def shared_action_response_schema() -> dict[str, Any]:
        return schema

    shared_action_response_schema.frontline_shared = True  # type: ignore[attr-defined]
    RemoteAction.action_response_format_spec = staticmethod(  # type: ignore[method-assign]
        shared_action_response_schema
    )


def cache_schema_validators() -> None:
    """Routes ``jsonschema.validate`` (which Rasa looks up at each call) to the cached one."""
    jsonschema.validate = validate_with_cached_schema
    jsonschema_validators.validate = validate_with_cached_schema


#: Rasa modules whose every ``copy.deepcopy`` is an argument of a ``structlogger.debug``
#: call (tests/frontline/test_rasa_server.py checks this against Rasa's source).
DEBUG_ONLY_COPY_MODULES = (
    "rasa.core.processor",
    "rasa.core.actions.forms",
    "rasa.core.policies.memoization",
    "rasa.core.policies.rule_policy",
)


class _CopyForDebugLogs(types.ModuleType):
    """The ``copy`` module as those Rasa modules see it: ``deepcopy`` only when debugging.

    They deep-copy events, states and parse data for debug log lines, which are
    dropped unless debug logging is on; the copies cost 2% of the server's time.
    """

    def __init__(self) -> None:
        super().__init__("copy")
        self.__dict__.update(
            {
                name: value
                for name, value in vars(copy).items()
                if not name.startswith("__") and name != "deepcopy"
            }
        )

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if logging.getLogger("rasa").isEnabledFor(logging.DEBUG):
            return copy.deepcopy(value, memo)
        return value


def copy_only_for_debug_logs() -> None:
    """Gives :data:`DEBUG_ONLY_COPY_MODULES` the ``copy`` above (idempotent)."""
    shim = _CopyForDebugLogs()
    for name in DEBUG_ONLY_COPY_MODULES:
        module = importlib.import_module(name)
        if not isinstance(module.copy, _CopyForDebugLogs):
            module.copy = shim


def freeze_after_load(load_model: Callable[..., None]) -> Callable[..., None]:
    """``Agent.load_model`` that leaves the loaded model out of later full collections.

    ``gc.unfreeze`` first hands the previously frozen objects (a model being replaced)
    back to the collector, so the collection frees the old model; what survives it, the
    new model and the server's own objects, is frozen.
    """

    @functools.wraps(load_model)
    def load_and_freeze(self: Any, *args: Any, **kwargs: Any) -> None:
        load_model(self, *args, **kwargs)
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        logger.debug("Froze %d objects of the loaded model.", gc.get_freeze_count())

    load_and_freeze.frontline_freezes = True  # type: ignore[attr-defined]
    return load_and_freeze


def freeze_loaded_models() -> None:
    """Wraps ``Agent.load_model`` (the first load and every replacement) once."""
    from rasa.core.agent import Agent

    if not getattr(Agent.load_model, "frontline_freezes", False):
        Agent.load_model = freeze_after_load(Agent.load_model)  # type: ignore[method-assign]


def apply_runtime_fixes() -> None:
    """Every fix above, before Rasa starts."""
    cache_schema_validators()
    freeze_loaded_models()
    balance_sanic_workers()
    # These import Rasa: only when starting it.
    from frontline import graph_runner
    from frontline.dialogue import action_history, incremental_states

    share_action_response_schema()
    copy_only_for_debug_logs()
    graph_runner.install()
    incremental_states.install()
    action_history.install()


def main(argv: list[str] | None = None) -> None:
    """Applies the fixes, then runs Rasa's command line with ``argv``."""
    apply_runtime_fixes()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()

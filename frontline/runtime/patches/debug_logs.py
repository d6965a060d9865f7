"""Work Rasa does only for debug log lines, skipped while debug logging is off.

Why a patch: Rasa deep-copies events, states and parse data as arguments of
``structlogger.debug`` calls (the processor, forms, the memoization and rule policies),
and the rule policy formats every state of the conversation for a debug line on each
prediction, whether or not debug logging is on: 2% of the server's time for the copies,
and a cost that grows with the conversation for the formatting. Logging configuration
cannot stop an argument from being computed. Those four modules get a ``copy`` module
whose ``deepcopy`` copies only while the ``rasa`` logger is at DEBUG (a test checks,
against Rasa's source, that each of their ``copy`` uses is inside a debug call), and
``Policy.format_tracker_states`` returns ``""`` unless its logger is at DEBUG.
"""

from __future__ import annotations

import copy
import logging
import types
from typing import Any

from rasa.core.policies.policy import Policy

from frontline.runtime.patch import Patch

#: Rasa modules whose every ``copy.deepcopy`` is an argument of a ``structlogger.debug``
#: call (tests/runtime/test_debug_logs.py checks this against Rasa's source).
DEBUG_ONLY_COPY_MODULES = (
    "rasa.core.processor",
    "rasa.core.actions.forms",
    "rasa.core.policies.memoization",
    "rasa.core.policies.rule_policy",
)

_original_format_tracker_states = Policy.format_tracker_states


class CopyForDebugLogs(types.ModuleType):
    """The ``copy`` module as those Rasa modules see it: ``deepcopy`` only when debugging."""

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


def lazy_format_tracker_states(states: list[dict]) -> str:
    """``Policy.format_tracker_states``, skipped when its debug log is off."""
    if not logging.getLogger("rasa.core.policies").isEnabledFor(logging.DEBUG):
        return ""
    return _original_format_tracker_states(states)


_COPY_FOR_DEBUG_LOGS = CopyForDebugLogs()

PATCH = Patch(
    name="debug_logs",
    reason=__doc__,
    guarded_by={
        "tests/runtime/test_debug_logs.py": (
            "test_every_deepcopy_in_those_rasa_modules_is_for_a_debug_log_line",
            "test_debug_log_copies_are_made_only_when_debugging",
            "test_tracker_states_are_formatted_only_when_debugging",
        ),
    },
    versions={"rasa": "3.6.21"},
    replacements={
        **{f"{module}:copy": _COPY_FOR_DEBUG_LOGS for module in DEBUG_ONLY_COPY_MODULES},
        "rasa.core.policies.policy:Policy.format_tracker_states": lazy_format_tracker_states,
    },
)

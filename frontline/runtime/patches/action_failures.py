"""A custom action that fails or does not answer in time is noted for the channel.

Why a patch: when the action server is down, slow or broken, Rasa 3.6's
``RemoteAction.run`` raises, and the message processor (``MessageProcessor._run_action``)
catches every exception, logs it and goes on as if the action had returned nothing: the
customer's message is answered with silence (an empty HTTP 200 in tens of milliseconds,
issue 16 finding 5), and a server that does not answer holds the turn for Rasa's fixed
300 s request timeout. Rasa has no setting for that timeout and no hook that sees the
failure (its plug-in hooks around the action call run only on success); custom actions
are not components that could be swapped. So ``RemoteAction.run`` is wrapped by
:func:`noting_run`: the call to the action server is bounded by ``ACTION_TIMEOUT_SECONDS``
(:attr:`frontline.settings.Settings.action_timeout`, 20 s by default; past it Rasa sees
the same ``RasaException`` it raises for an unreachable server), and any failure except a
rejection (the action server's own "not this action now", which Rasa handles) is noted
with :func:`frontline.resilience.turn.note` before it propagates unchanged. The channel
that handles the message (:func:`frontline.channels.admission.run_message`) then tells
the customer and records a handoff. Results, rejections and errors are otherwise
exactly stock's (``tests/runtime/test_action_failures.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.shared.exceptions import RasaException

from frontline.resilience.turn import ACTION_SERVER, note
from frontline.runtime.patch import Patch
from frontline.settings import get_settings

_original_run = RemoteAction.run


async def noting_run(
    self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
) -> list[Any]:
    """``RemoteAction.run`` bounded in time; a failure is noted for the channel, then raised."""
    timeout = get_settings().action_timeout
    try:
        return await asyncio.wait_for(
            _original_run(self, output_channel, nlg, tracker, domain), timeout
        )
    except ActionExecutionRejection:
        raise
    except asyncio.TimeoutError as exc:
        note(ACTION_SERVER, f"{self.name()}: no answer in {timeout:g} s")
        raise RasaException(
            f"Failed to execute custom action '{self.name()}': the action server did not "
            f"answer in {timeout:g} s"
        ) from exc
    except Exception as exc:
        note(ACTION_SERVER, f"{self.name()}: {type(exc).__name__}: {exc}")
        raise


PATCH = Patch(
    name="action_failures",
    reason=__doc__,
    guarded_by={
        "tests/runtime/test_action_failures.py": (
            "test_the_patched_run_gives_stocks_result",
            "test_a_failure_is_noted_and_raised_as_stock_raises_it",
            "test_a_silent_action_server_is_given_up_after_the_timeout",
        ),
    },
    versions={"rasa": "3.6.21"},
    replacements={"rasa.core.actions.action:RemoteAction.run": noting_run},
)

"""A failed or silent action server call is noted for the channel (patches/action_failures.py).

Every outcome of the call (events and texts, a rejection, each error Rasa raises) goes
through Rasa's own ``RemoteAction.run`` and through the patched one against the same fake
endpoint: the patched run returns and raises exactly what stock does, and notes the
failures (never a success or a rejection); a server that never answers is given up after
the configured timeout instead of Rasa's 300 s.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from frontline.resilience import turn
from frontline.runtime.patches import action_failures as patch_module
from frontline.settings import Settings

PATCH = patch_module.PATCH
HANG = "hang"


def _response_error(status: int, body: dict[str, Any] | None = None) -> ClientResponseError:
    """What rasa's ``EndpointConfig.request`` raises for a non-2xx answer."""
    return ClientResponseError(status, "error", json.dumps(body or {}))


class FakeEndpoint(EndpointConfig):
    """An action endpoint whose answer (or error) is given, not fetched."""

    def __init__(self, outcome: Any) -> None:
        super().__init__(url="http://127.0.0.1:9/webhook")
        self.outcome = outcome

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        if self.outcome == HANG:
            await asyncio.sleep(3600)
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return json.loads(json.dumps(self.outcome))  # a fresh copy per call, as over HTTP


CASES: dict[str, Any] = {
    "events and texts": {
        "events": [{"event": "slot", "name": "order_id", "value": "A1"}],
        "responses": [{"text": "Done."}, {"text": "With a button", "buttons": [{"title": "ok"}]}],
    },
    "nothing": {"events": [], "responses": []},
    "rejected": _response_error(400, {"action_name": "action_x", "error": "not now"}),
    "server error": _response_error(500),
    "connection refused": aiohttp.ClientConnectionError("refused"),
    "client error": aiohttp.ClientPayloadError("cut short"),
    "malformed answer": {"events": "not a list"},
    "unexpected error": ValueError("boom"),
}
FAILURES = {"server error", "connection refused", "client error", "malformed answer",
            "unexpected error"}  # fmt: skip


def _run(outcome: Any) -> tuple[str, Any]:
    """What ``RemoteAction.run`` (as currently installed) gives: ("ok", events) or
    ("raised", (type, message))."""
    action = RemoteAction("action_x", FakeEndpoint(outcome))
    tracker = DialogueStateTracker("c1", slots=[])
    try:
        events = asyncio.run(
            action.run(CollectingOutputChannel(), None, tracker, Domain.empty())  # type: ignore[arg-type]
        )
    except Exception as error:  # noqa: BLE001 - the raised error is the result compared
        return "raised", (type(error), str(error))
    return "ok", events


@pytest.fixture
def patched() -> Iterator[None]:
    with PATCH.applied():
        yield


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_patched_run_gives_stocks_result(case, patched):
    got = _run(CASES[case])
    PATCH.revert()
    assert got == _run(CASES[case])


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_failure_is_noted_and_raised_as_stock_raises_it(case, patched):
    with turn.watching() as record:
        outcome, _ = _run(CASES[case])
    if case in FAILURES:
        assert outcome == "raised"
        assert record.dependencies == [turn.ACTION_SERVER]
        assert record.failures[0].detail.startswith("action_x: ")
    else:
        assert record.failures == []


def test_a_silent_action_server_is_given_up_after_the_timeout(patched, monkeypatch):
    monkeypatch.setattr(patch_module, "get_settings", lambda: Settings(action_timeout=0.3))
    started = time.monotonic()
    with turn.watching() as record:
        outcome, (error_type, message) = _run(HANG)
    assert outcome == "raised" and error_type.__name__ == "RasaException"
    assert "did not answer in 0.3 s" in message
    assert time.monotonic() - started < 5
    assert record.failures == [turn.Failure(turn.ACTION_SERVER, "action_x: no answer in 0.3 s")]


def test_without_a_watched_message_nothing_is_noted(patched):
    assert _run(CASES["connection refused"])[0] == "raised"  # and no error from note()

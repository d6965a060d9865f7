"""The short variant of ``make fuzz``: hostile messages over REST, socket.io and Slack.

300 messages from ``bench/hostile.py`` against the running stack (both
configurations): no answer is a 5xx, no server dies, and a normal conversation works
afterwards. ``make fuzz`` sends 10,000 and writes ``bench/results/fuzz.md``.
"""

from __future__ import annotations

import asyncio

import pytest

from bench.fuzz import normal_conversation_works, run_fuzz
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def test_hostile_messages_get_no_5xx_and_kill_nothing(stack: Stack):
    assert stack.slack_sender is not None
    report = asyncio.run(
        run_fuzz(stack.rasa.url, stack.slack_sender, 300, seed=7, processes=stack.processes)
    )
    summary = report.summary()
    assert summary["responses_5xx"] == 0, summary["examples_5xx"]
    assert summary["dead_processes"] == [], stack.rasa.log_tail()
    assert summary["transport_errors"] == 0, summary["examples_transport"]
    assert set(summary["statuses"]) == {"rest", "socketio", "slack"}
    assert normal_conversation_works(stack.rasa.url)

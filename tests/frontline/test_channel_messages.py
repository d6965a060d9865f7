"""Who is speaking, as the channels tell the customer."""

from __future__ import annotations

import pytest

from frontline.channels.messages import speaker


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"utter_action": "utter_greet"}, {}),
        ({}, {}),
        ({"sender": "agent", "agent_name": "Sam"}, {"sender": "agent", "agent_name": "Sam"}),
        (
            {"frontline_agent": "sam.k", "handoff_entry": "1-0", "agent_name": "  Sam   K. "},
            {"sender": "agent", "agent_name": "Sam K."},
        ),
        # The desk's sign-in name is never shown to the customer.
        ({"frontline_agent": "sam.k"}, {"sender": "agent", "agent_name": "Support team"}),
        ({"sender": "agent", "agent_name": 42}, {"sender": "agent", "agent_name": "Support team"}),
        ({"sender": "agent", "agent_name": "x" * 100}, {"sender": "agent", "agent_name": "x" * 64}),
        ({"sender": "bot"}, {}),
    ],
)
def test_agent_messages_are_recognised(metadata, expected):
    assert speaker(metadata) == expected

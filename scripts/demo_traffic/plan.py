"""What the simulated customers say, and who comes back when: the demo's plan.

:data:`SCRIPTS` are the conversations (the same ones ``tests/outcomes/record_trackers``
records for the outcome tests, so the tests fold exactly what the demo holds); the
plan (:func:`build_plan`) spreads them over the last ``days`` days, over REST, web chat
and Slack, across the sandbox's three persona customers (gold, silver, bronze). Jane
asks where her order is every few days, so some contacts are repeat contacts days
apart. Contacts of earlier days are dated back by the outcome writer's simulated clock
(:mod:`frontline.outcomes.simulated_clock`); the web chat's conversation ids are the
server's, so web chat contacts are today's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: name -> steps: ("say", text), ("faults", {...}) / ("clear_faults", None) on the
#: sandbox, ("desk", "resolve" | "hand_back") for the person at the desk.
SCRIPTS: dict[str, list[tuple[str, Any]]] = {
    "order_status_rated": [
        ("say", "where is my order?"),
        ("say", "jane.doe@example.com"),
        ("say", "482913"),
        ("say", '/csat_feedback{"rating": "5"}'),
        ("say", "quick and clear, thanks"),
    ],
    "clarified_then_resolved": [
        ("say", "where is my order?"),
        ("say", "omar.haddad@example.com"),
        ("say", "10001"),
        ("say", "where is my order?"),
        ("say", "551200"),
        ("say", '/csat_feedback{"rating": "2"}'),
    ],
    "handoff_resolved_by_person": [
        ("say", "where is order 482913? I'm jane.doe@example.com"),
        ("say", "I want to talk to a human"),
        ("desk", "resolve"),
    ],
    "handoff_handed_back_resolved": [
        ("say", "talk to a person please"),
        ("desk", "hand_back"),
        ("say", "where is order 630002? my email is li.wei@example.net"),
        ("say", '/csat_feedback{"rating": "4"}'),
    ],
    "backend_error_handoff": [
        ("say", "where is my order"),
        ("say", "omar.haddad@example.com"),
        ("faults", {"error_status": 503, "error_rate": 1.0, "path_prefix": "/orders"}),
        ("say", "551200"),
        ("clear_faults", None),
    ],
    "abandoned_cancellation": [
        ("say", "I want to cancel an order"),
        ("say", "jane.doe@example.com"),
    ],
    "faq_shipping": [("say", "how long does shipping take?")],
    "greeting_only": [("say", "hello")],
}

#: What each script leads to (for the plan's summary and the tests).
EXPECTED: dict[str, tuple[str | None, str]] = {
    "order_status_rated": ("check_order_status", "resolved_by_assistant"),
    "clarified_then_resolved": ("check_order_status", "resolved_after_clarification"),
    "handoff_resolved_by_person": ("check_order_status", "resolved_by_person"),
    "handoff_handed_back_resolved": ("request_human", "handed_back_resolved"),
    "backend_error_handoff": ("check_order_status", "escalated"),
    "abandoned_cancellation": ("cancel_order", "abandoned"),
    "faq_shipping": ("faq", "resolved_by_assistant"),
    "greeting_only": (None, "unengaged"),
}

CHANNELS = ("rest", "socketio", "slack")


@dataclass(frozen=True)
class PlannedContact:
    """One simulated contact.

    Attributes:
        number: Its place in the plan (ids and the order it is held in).
        script: A key of :data:`SCRIPTS`.
        channel: ``rest``, ``socketio`` or ``slack``.
        days_back: How many days ago it happened (0: today; web chat only today).
    """

    number: int
    script: str
    channel: str
    days_back: int


#: One day's contacts, by day in a cycle of three: (script, channel) pairs.
_DAYS: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        ("order_status_rated", "rest"),
        ("faq_shipping", "slack"),
        ("handoff_resolved_by_person", "rest"),
        ("greeting_only", "rest"),
        ("clarified_then_resolved", "slack"),
    ),
    (
        ("faq_shipping", "rest"),
        ("abandoned_cancellation", "rest"),
        ("handoff_handed_back_resolved", "slack"),
        ("clarified_then_resolved", "rest"),
    ),
    (
        ("faq_shipping", "slack"),
        ("backend_error_handoff", "rest"),
        ("order_status_rated", "slack"),
        ("abandoned_cancellation", "slack"),
    ),
)
#: Today, over every channel (web chat included).
_TODAY: tuple[tuple[str, str], ...] = (
    ("order_status_rated", "socketio"),
    ("faq_shipping", "socketio"),
    ("handoff_handed_back_resolved", "socketio"),
    ("clarified_then_resolved", "rest"),
    ("handoff_resolved_by_person", "slack"),
    ("faq_shipping", "rest"),
    ("abandoned_cancellation", "socketio"),
)


def build_plan(days: int = 7, channels: tuple[str, ...] = CHANNELS) -> list[PlannedContact]:
    """The contacts of the last ``days`` days, oldest first.

    Args:
        days: 1 (today only) to 30.
        channels: The channels to use; a contact planned on another one goes over
            REST (e.g. without Slack), and web chat contacts of earlier days too.

    Raises:
        ValueError: ``days`` out of range or an unknown channel.
    """
    if not 1 <= days <= 30:
        raise ValueError("days must be 1..30")
    unknown = set(channels) - set(CHANNELS)
    if unknown or "rest" not in channels:
        raise ValueError(f"channels must include rest and be among {', '.join(CHANNELS)}")
    plan: list[PlannedContact] = []
    for back in range(days - 1, -1, -1):
        for script, channel in _TODAY if back == 0 else _DAYS[back % len(_DAYS)]:
            if channel not in channels or (channel == "socketio" and back):
                channel = "rest"
            plan.append(PlannedContact(len(plan) + 1, script, channel, back))
    return plan

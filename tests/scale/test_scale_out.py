"""One conversation spread over several Rasa processes stays whole and in order."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from frontline.channels.ids import conversation_id
from frontline.channels.sessions import TOKEN_HEADER
from tests.scale.conftest import TOKEN

pytestmark = pytest.mark.e2e


#: Each sender's session token (the first answer's ``X-Session-Token``): any instance
#: accepts it, since they share the channel secret.
TOKENS: dict[str, str] = {}


def say(url: str, sender: str, text: str) -> list[str]:
    headers = {TOKEN_HEADER: TOKENS[sender]} if sender in TOKENS else {}
    response = requests.post(
        f"{url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        headers=headers,
        timeout=60,
    )
    response.raise_for_status()
    TOKENS.setdefault(sender, response.headers[TOKEN_HEADER])
    return [reply.get("text", "") for reply in response.json()]


def tracker(url: str, sender: str) -> dict:
    response = requests.get(
        f"{url}/conversations/{conversation_id('rest', sender)}/tracker",
        params={"token": TOKEN},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def turns(events: list[dict]) -> list[tuple[str, int]]:
    """(user text, number of bot messages before the next user message) per turn."""
    result: list[tuple[str, int]] = []
    for event in events:
        if event["event"] == "user":
            result.append((event["text"], 0))
        elif event["event"] == "bot" and result:
            text, count = result[-1]
            result[-1] = (text, count + 1)
    return result


def test_turns_alternating_between_processes_stay_in_order(topology):
    sender = f"scale-{uuid.uuid4().hex[:10]}"
    script = [
        "please cancel order 551203, my email is omar.haddad@example.com",
        "yes, cancel it",
        "thanks",
        "what's the weather in Paris?",
    ]
    replies = [
        say(topology.entry_points[i % len(topology.entry_points)], sender, text)
        for i, text in enumerate(script)
    ]
    assert any("Please confirm: cancel order 551203" in r for r in replies[0]), replies
    assert any("order 551203 is cancelled" in r for r in replies[1])
    order = requests.get(f"{topology.sandbox_url}/orders/551203", timeout=10).json()
    assert order["state"] == "cancelled"

    recorded = turns(tracker(topology.entry_points[0], sender)["events"])
    assert [text for text, _ in recorded] == script  # in order, none lost or repeated
    assert all(count >= 1 for _, count in recorded)  # each answered


def test_concurrent_turns_of_one_conversation_are_serialised(topology):
    sender = f"scale-{uuid.uuid4().hex[:10]}"
    texts = ["hello", "are you a bot?", "what's the weather in Paris?", "thanks"]
    say(topology.entry_points[0], sender, texts[0])  # the first answer carries the token
    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        list(
            pool.map(
                lambda item: say(topology.entry_points[item[0] % 2], sender, item[1]),
                enumerate(texts[1:]),
            )
        )
    recorded = turns(tracker(topology.entry_points[1], sender)["events"])
    # Every message is recorded once, and each got its answer before the next was
    # processed (the lock store serialises them), whatever the arrival order.
    assert sorted(text for text, _ in recorded) == sorted(texts)
    assert all(count >= 1 for _, count in recorded)

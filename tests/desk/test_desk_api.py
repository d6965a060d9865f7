"""The desk's API against a real desk process on SQLite: sign-in, roles, the queue.

The Rasa server is down here on purpose (nothing listens at ``RASA_URL``), which
shows how the desk degrades; replies and hand-backs against a running Rasa are in
``test_desk_conversations.py``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
import requests

from tests.desk.conftest import PASSWORD, Desk, DeskClient, add_agent, sign_in

ENTRY_ACTIONS = ("claim", "release", "reassign", "reply", "resolve", "hand-back")


def packet(priority: str = "normal", **extra: Any) -> dict[str, Any]:
    """A packet as the assistant builds it (the fields the desk shows)."""
    conversation_id = f"desk-{uuid.uuid4().hex[:12]}"
    return {
        "schema_version": "1.0",
        "handoff_id": uuid.uuid4().hex[:24],
        "conversation_id": conversation_id,
        "channel": "rest",
        "created_at": "2026-11-01T12:00:00Z",
        "priority": priority,
        "reason": {"code": "customer_request", "rationale": "The customer asked for a person."},
        "customer": {
            "verified": True,
            "customer_id": "C1001",
            "name": "Jane D.",
            "email": "j***@example.com",
            "phone": "***-***-**34",
            "tier": "gold",
        },
        "intent": {"name": "request_human", "confidence": 0.97},
        "entities": [{"entity": "order_id", "value": "482913"}],
        "summary": "Customer wanted to check an order's status (482913); it is on its way.",
        "last_turns": [
            {"speaker": "customer", "text": "where is 482913", "timestamp": "2026-11-01T11:59Z"}
        ],
        "actions_attempted": [
            {"action": "order_status", "result": "found", "detail": "shipped", "at": None}
        ],
        **extra,
    }


def enqueue(desk: Desk, priority: str = "normal") -> str:
    return desk.queue.enqueue(packet(priority))


def ids(cards: list[dict[str, Any]], mine: set[str]) -> list[str]:
    """The entry ids of a listing that belong to this test, in the listing's order."""
    return [card["entry_id"] for card in cards if card["entry_id"] in mine]


@pytest.fixture
def ana(lone_desk: Desk) -> DeskClient:
    return lone_desk.agents["ana"]


@pytest.fixture
def ben(lone_desk: Desk) -> DeskClient:
    return lone_desk.agents["ben"]


@pytest.fixture
def cleo(lone_desk: Desk) -> DeskClient:
    return lone_desk.agents["cleo"]


# -- every request needs a session ----------------------------------------------------


def api_routes(entry_id: str) -> list[tuple[str, str]]:
    routes = [
        ("GET", "/api/me"),
        ("GET", "/api/queue"),
        ("GET", "/api/agents"),
        ("POST", "/api/heartbeat"),
        ("DELETE", "/api/session"),
        ("GET", f"/api/entries/{entry_id}"),
    ]
    return routes + [("POST", f"/api/entries/{entry_id}/{action}") for action in ENTRY_ACTIONS]


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"headers": {"Authorization": "Bearer not-a-session-token-at-all"}},
        {"headers": {"Authorization": "Basic YW5hOnNlY3JldA=="}},
        {"cookies": {"frontline_desk": "forged-cookie-value-0123456789"}},
    ],
    ids=["nothing", "bad-bearer", "basic-auth", "forged-cookie"],
)
def test_every_api_request_without_a_valid_session_is_refused(
    lone_desk: Desk, credentials: dict[str, Any]
) -> None:
    entry_id = enqueue(lone_desk)
    for method, path in api_routes(entry_id):
        response = requests.request(
            method, f"{lone_desk.url}{path}", json={"text": "hi"}, timeout=10, **credentials
        )
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"] == "unauthenticated"
    entry = lone_desk.queue.get(entry_id)
    assert entry is not None and entry.status == "pending"  # nothing happened


def test_the_page_is_public_but_holds_no_data(lone_desk: Desk) -> None:
    page = requests.get(f"{lone_desk.url}/", timeout=10)
    script = requests.get(f"{lone_desk.url}/static/desk.js", timeout=10)

    assert page.status_code == script.status_code == 200
    assert 'id="signin-form"' in page.text and "/static/desk.js" in page.text
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    for text in (page.text, script.text):
        assert "//cdn" not in text and "https://" not in text  # nothing fetched from elsewhere


# -- signing in -----------------------------------------------------------------------


def test_sign_in_gives_an_httponly_strict_cookie_and_sign_out_ends_it(lone_desk: Desk) -> None:
    browser = requests.Session()
    response = browser.post(
        f"{lone_desk.url}/api/session",
        json={"name": lone_desk.agents["ben"].name, "password": PASSWORD},
        timeout=30,
    )

    assert response.status_code == 200
    assert "token" not in response.json()  # a browser never sees the token
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("frontline_desk=")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert browser.get(f"{lone_desk.url}/api/me", timeout=10).json()["agent"]["role"] == "agent"

    signed_out = browser.delete(f"{lone_desk.url}/api/session", timeout=10)
    assert signed_out.status_code == 200 and "Max-Age=0" in signed_out.headers["Set-Cookie"]
    stolen = {"frontline_desk": cookie.split(";")[0].split("=", 1)[1]}
    assert requests.get(f"{lone_desk.url}/api/me", cookies=stolen, timeout=10).status_code == 401


def test_wrong_passwords_and_unknown_names_get_the_same_answer(lone_desk: Desk) -> None:
    def attempt(name: str, password: str) -> requests.Response:
        body = {"name": name, "password": password}
        return requests.post(f"{lone_desk.url}/api/session", json=body, timeout=30)

    wrong = attempt(lone_desk.agents["cleo"].name, "not the password")
    unknown = attempt("nobody-" + uuid.uuid4().hex[:6], PASSWORD)

    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "error": "bad_credentials",
            "message": "Unknown name or wrong password.",
        }
    )
    assert attempt("", "").status_code == 400


def test_password_guessing_is_throttled_per_name(lone_desk: Desk) -> None:
    name = f"dana-{uuid.uuid4().hex[:6]}"
    add_agent(lone_desk.database_url, name, "agent")
    body = {"name": name, "password": "guess-guess-guess"}
    statuses = [
        requests.post(f"{lone_desk.url}/api/session", json=body, timeout=30).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    right = {"name": name, "password": PASSWORD}
    assert requests.post(f"{lone_desk.url}/api/session", json=right, timeout=30).status_code == 429
    assert sign_in(lone_desk.url, lone_desk.agents["ben"].name).token  # others still sign in


def test_cross_site_and_form_requests_are_refused(lone_desk: Desk, ben: DeskClient) -> None:
    evil = requests.get(
        f"{lone_desk.url}/api/queue",
        headers={"Authorization": f"Bearer {ben.token}", "Origin": "https://evil.example"},
        timeout=10,
    )
    form = requests.post(
        f"{lone_desk.url}/api/session", data={"name": ben.name, "password": PASSWORD}, timeout=10
    )
    same_site = requests.get(
        f"{lone_desk.url}/api/queue",
        headers={"Authorization": f"Bearer {ben.token}", "Origin": lone_desk.url},
        timeout=10,
    )

    assert evil.status_code == 403 and evil.json()["error"] == "cross_origin"
    assert form.status_code == 415
    assert same_site.status_code == 200


# -- roles ----------------------------------------------------------------------------


def test_agents_and_supervisors_see_what_their_role_allows(
    lone_desk: Desk, ana: DeskClient, ben: DeskClient, cleo: DeskClient
) -> None:
    entry_id = enqueue(lone_desk)
    ben.ok("POST", f"/api/entries/{entry_id}/claim")

    assert "claimed" not in cleo.queue()
    assert entry_id in ids(ana.queue()["claimed"], {entry_id})
    assert ana.entry(entry_id)["claimed_by"] == ben.name  # supervisors see everything
    refused = cleo.call("GET", f"/api/entries/{entry_id}")
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert cleo.call("GET", "/api/agents").status_code == 403
    assert {a["name"] for a in ana.ok("GET", "/api/agents")["agents"]} >= {ben.name, cleo.name}
    assert cleo.post(entry_id, "reassign", {"agent": cleo.name}).status_code == 403
    assert lone_desk.queue.get(entry_id).claimed_by == ben.name  # type: ignore[union-attr]


# -- the queue ------------------------------------------------------------------------


def test_the_queue_is_ordered_by_priority_then_waiting_time(
    lone_desk: Desk, ben: DeskClient
) -> None:
    order = ["low", "normal", "urgent", "high", "urgent", "normal"]
    entry_ids = [enqueue(lone_desk, priority) for priority in order]
    expected = [entry_ids[i] for i in (2, 4, 3, 1, 5, 0)]

    pending = ben.queue()["pending"]

    assert ids(pending, set(entry_ids)) == expected
    card = next(c for c in pending if c["entry_id"] == entry_ids[2])
    assert card["priority"] == "urgent" and card["status"] == "pending"
    assert card["customer"] == {"verified": True, "name": "Jane D.", "tier": "gold"}
    assert card["reason"] == "customer_request" and card["waited_seconds"] >= 0


def test_claim_and_a_second_claim_is_refused(
    lone_desk: Desk, ben: DeskClient, cleo: DeskClient
) -> None:
    entry_id = enqueue(lone_desk)

    claimed = ben.ok("POST", f"/api/entries/{entry_id}/claim")["entry"]
    second = cleo.post(entry_id, "claim")

    assert claimed["status"] == "claimed" and claimed["claimed_by"] == ben.name
    lease = datetime.fromisoformat(claimed["lease_expires_at"])
    assert (lease - datetime.fromisoformat(claimed["claimed_at"])).total_seconds() == 30
    assert claimed["timings"]["waiting_seconds"] >= 0
    assert claimed["timings"]["handling_seconds"] is None
    assert second.status_code == 409
    assert second.json()["error"] == "already_claimed" and second.json()["claimed_by"] == ben.name
    assert entry_id in ids(ben.queue()["mine"], {entry_id})
    assert entry_id not in ids(cleo.queue()["pending"], {entry_id})
    assert ben.ok("POST", f"/api/entries/{entry_id}/claim")["entry"]["claims"] == 1  # no-op


def test_the_heartbeat_renews_the_agents_leases(lone_desk: Desk, ben: DeskClient) -> None:
    entry_id = enqueue(lone_desk)
    claimed = ben.ok("POST", f"/api/entries/{entry_id}/claim")["entry"]

    held = ben.ok("POST", "/api/heartbeat")["held"]

    [renewed] = [card for card in held if card["entry_id"] == entry_id]
    assert renewed["lease_expires_at"] >= claimed["lease_expires_at"]
    assert "packet" not in renewed


def test_release_and_reassign(
    lone_desk: Desk, ana: DeskClient, ben: DeskClient, cleo: DeskClient
) -> None:
    entry_id = enqueue(lone_desk)
    ben.ok("POST", f"/api/entries/{entry_id}/claim")

    released = ben.ok("POST", f"/api/entries/{entry_id}/release")["entry"]
    assert (released["status"], released["claimed_by"], released["reoffers"]) == (
        "pending",
        None,
        1,
    )
    assert ben.post(entry_id, "release").json()["error"] == "not_owner"

    ben.ok("POST", f"/api/entries/{entry_id}/claim")
    moved = ana.ok("POST", f"/api/entries/{entry_id}/reassign", {"agent": cleo.name})["entry"]
    assert moved["claimed_by"] == cleo.name
    assert entry_id in ids(cleo.queue()["mine"], {entry_id})
    assert entry_id not in ids(ben.queue()["mine"], {entry_id})
    unknown = ana.post(entry_id, "reassign", {"agent": "nobody-at-all"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "unknown_agent"


def test_signing_out_of_the_last_session_gives_the_conversations_back(lone_desk: Desk) -> None:
    name = f"eve-{uuid.uuid4().hex[:6]}"
    add_agent(lone_desk.database_url, name, "agent")
    eve = sign_in(lone_desk.url, name)
    entry_id = enqueue(lone_desk)
    eve.ok("POST", f"/api/entries/{entry_id}/claim")

    signed_out = eve.ok("DELETE", "/api/session")

    assert signed_out["released"] == [entry_id]
    entry = lone_desk.queue.get(entry_id)
    assert entry is not None and (entry.status, entry.claimed_by) == ("pending", None)


# -- bad requests, and Rasa down ---------------------------------------------------------


def test_bad_requests_get_clear_answers(lone_desk: Desk, ben: DeskClient, cleo: DeskClient) -> None:
    entry_id = enqueue(lone_desk)
    assert ben.post(entry_id, "reply", {"text": "hello"}).json()["error"] == "not_owner"
    ben.ok("POST", f"/api/entries/{entry_id}/claim")

    cases = [
        (ben.post(entry_id, "reply", {"text": "   "}), 400, "invalid_request"),
        (ben.post(entry_id, "reply", {"text": "x" * 2001}), 400, "invalid_request"),
        (ben.post(entry_id, "reply", {"text": "bell \x07"}), 400, "invalid_request"),
        (ben.post(entry_id, "reply", {"text": 42}), 400, "invalid_request"),
        (ben.post(entry_id, "resolve", {"resolution_code": "vanished"}), 400, "invalid_request"),
        (ben.post(entry_id, "resolve", {}), 400, "invalid_request"),
        (cleo.post(entry_id, "reply", {"text": "me too"}), 409, "already_claimed"),
        (ben.post("1-0", "claim"), 404, "not_found"),
        (ben.post("x" * 100, "claim"), 404, "not_found"),
        (ben.call("GET", "/api/nowhere"), 404, "not_found"),
    ]
    for response, status, error in cases:
        assert (response.status_code, response.json()["error"]) == (status, error), response.text
    raw = requests.post(
        f"{lone_desk.url}/api/entries/{entry_id}/reply",
        data="{not json",
        headers={"Authorization": f"Bearer {ben.token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert raw.status_code == 400 and raw.json()["error"] == "invalid_json"


def test_with_rasa_down_the_desk_still_shows_the_packet_and_says_what_failed(
    lone_desk: Desk, ben: DeskClient
) -> None:
    entry_id = enqueue(lone_desk, "high")
    ben.ok("POST", f"/api/entries/{entry_id}/claim")

    view = ben.entry(entry_id)
    reply = ben.post(entry_id, "reply", {"text": "I'm looking into it."})
    resolved = ben.post(entry_id, "resolve", {"resolution_code": "information_given"})
    retried = ben.post(entry_id, "resolve", {"resolution_code": "information_given"})

    assert view["transcript_source"] == "packet"
    assert view["transcript"] == [
        {"speaker": "customer", "text": "where is 482913", "timestamp": "2026-11-01T11:59Z"}
    ]
    assert view["packet"]["summary"].startswith("Customer wanted")
    assert reply.status_code == 502 and reply.json()["error"] == "rasa_unavailable"
    # The resolution is recorded; giving the conversation back is what must be retried.
    for response in (resolved, retried):
        assert response.status_code == 502 and response.json()["error"] == "hand_back_failed"
        assert response.json()["entry"]["status"] == "resolved"
    entry = lone_desk.queue.get(entry_id)
    assert entry is not None and entry.resolution_code == "information_given"
    timings = ben.entry(entry_id)["timings"]
    assert timings["waiting_seconds"] >= 0 and timings["handling_seconds"] >= 0

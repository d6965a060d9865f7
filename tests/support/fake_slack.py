"""Slack, faked at its edges: a local Web API that records calls, and a signed sender.

Slack lies outside our world, so tests never reach it: :class:`FakeSlack` answers the
Web API methods the bot uses (``chat.postMessage``, ``auth.test``) on a loopback port
and records every call, and :class:`SlackSender` builds the requests Slack's Events
API and interactivity send to the bot, signed with the app's signing secret exactly as
Slack signs them (``v0=`` HMAC-SHA256 of ``v0:<timestamp>:<body>``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from aiohttp import web

from tests.support.processes import free_port


@dataclass(frozen=True)
class SlackCall:
    """One Web API call the bot made."""

    method: str
    token: str | None
    body: dict[str, Any]


@dataclass
class FakeSlack:
    """Slack's Web API on ``127.0.0.1``, in a thread of its own, recording every call.

    Args:
        token: The bot token it accepts; other tokens get ``invalid_auth`` as from Slack.
    """

    token: str = field(default_factory=lambda: f"xoxb-test-{uuid.uuid4().hex[:12]}")
    calls: list[SlackCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = free_port()
        self._changed = threading.Condition()
        self._ts = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The Web API base URL to give the bot (``SLACK_API_URL``)."""
        return f"http://127.0.0.1:{self.port}/api/"

    # -- the server --------------------------------------------------------------------

    def start(self) -> FakeSlack:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError("the fake Slack Web API did not start")
        return self

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ") if authorization else None
        with self._changed:
            self.calls.append(SlackCall(method, token, body))
            self._changed.notify_all()
        if token != self.token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return web.json_response({"ok": True, "user_id": "U0FRONTBOT", "team_id": "T0TEST"})
        if method != "chat.postMessage":
            return web.json_response({"ok": False, "error": "unknown_method"})
        if not body.get("channel"):
            return web.json_response({"ok": False, "error": "channel_not_found"})
        if not (body.get("text") or body.get("blocks") or body.get("attachments")):
            return web.json_response({"ok": False, "error": "no_text"})
        ts = f"{time.time():.0f}.{next(self._ts):06d}"
        message = {"type": "message", "user": "U0FRONTBOT", "ts": ts, **body}
        return web.json_response(
            {"ok": True, "channel": body["channel"], "ts": ts, "message": message}
        )

    # -- what tests read ---------------------------------------------------------------

    def posts(self, since: int = 0) -> list[dict[str, Any]]:
        """Bodies of the ``chat.postMessage`` calls made with the right token."""
        with self._changed:
            calls = self.calls[since:]
        return [c.body for c in calls if c.method == "chat.postMessage" and c.token == self.token]

    def mark(self) -> int:
        """A position in the call log; pass it to :meth:`posts` as ``since``."""
        with self._changed:
            return len(self.calls)

    def wait_for_posts(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        *,
        since: int = 0,
        timeout: float = 30.0,
    ) -> list[dict[str, Any]]:
        """Waits (bounded) until ``predicate(posts since the mark)`` holds; returns them.

        Raises:
            AssertionError: It did not hold in time (the posts are in the message).
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                posts = self.posts(since)
                if predicate(posts):
                    return posts
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"Slack posts never matched; got {posts}")
                self._changed.wait(left)


def post_texts(posts: list[dict[str, Any]]) -> str:
    """The text of posts, buttons' message included, joined by newlines."""
    return "\n".join(str(post.get("text", "")) for post in posts)


def post_buttons(posts: list[dict[str, Any]]) -> list[dict[str, str]]:
    """``{"title", "value"}`` of the buttons in posts' blocks."""
    found = []
    for post in posts:
        blocks = post.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        for block in blocks:
            for element in block.get("elements") or []:
                if element.get("type") == "button":
                    found.append({"title": element["text"]["text"], "value": element["value"]})
    return found


# -- what Slack sends the bot --------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature: ``v0=`` + HMAC-SHA256 of ``v0:<timestamp>:<body>``."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SlackRequest:
    """A request as Slack would send it to the bot's webhook."""

    body: bytes
    headers: dict[str, str]


class SlackSender:
    """Builds signed Events API and interactivity requests for one Slack workspace.

    Args:
        signing_secret: The app's signing secret.
        team: The workspace id.
        bot_user: The bot's own user id (as in ``authorizations``).
    """

    def __init__(
        self, signing_secret: str, team: str = "T0FRONTLN", bot_user: str = "U0FRONTBOT"
    ) -> None:
        self.signing_secret = signing_secret
        self.team = team
        self.bot_user = bot_user
        self._ts = itertools.count(1)

    def next_ts(self) -> str:
        """A Slack message timestamp, unique within this sender."""
        return f"{time.time():.0f}.{next(self._ts):06d}"

    def sign(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: float | None = None,
        secret: str | None = None,
        retry: tuple[int, str] | None = None,
    ) -> SlackRequest:
        """Signs ``body``; ``retry`` adds ``X-Slack-Retry-Num`` and ``-Reason``."""
        stamp = str(int(time.time() if timestamp is None else timestamp))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature(secret or self.signing_secret, stamp, body),
        }
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry[0])
            headers["X-Slack-Retry-Reason"] = retry[1]
        return SlackRequest(body, headers)

    def event_body(self, event: dict[str, Any]) -> bytes:
        """An ``event_callback`` envelope around ``event``, as JSON bytes."""
        envelope = {
            "token": "deprecated-verification-token",
            "team_id": self.team,
            "api_app_id": "A0FRONTLN",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team, "user_id": self.bot_user, "is_bot": True}],
        }
        return json.dumps(envelope).encode()

    def message_event(
        self,
        user: str,
        text: str,
        *,
        channel: str,
        channel_type: str = "im",
        ts: str | None = None,
        thread_ts: str | None = None,
        kind: str = "message",
    ) -> dict[str, Any]:
        """A ``message`` (or ``app_mention``) event from ``user``."""
        ts = ts or self.next_ts()
        event = {
            "type": kind,
            "user": user,
            "text": text,
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
            "team": self.team,
        }
        if kind == "message":
            event["channel_type"] = channel_type
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    def message(self, user: str, text: str, *, channel: str, **options: Any) -> SlackRequest:
        """A signed Events API request carrying one message event."""
        retry = options.pop("retry", None)
        event = self.message_event(user, text, channel=channel, **options)
        return self.sign(self.event_body(event), "application/json", retry=retry)

    def click(
        self,
        user: str,
        value: str,
        *,
        channel: str,
        message_ts: str,
        thread_ts: str | None = None,
        retry: tuple[int, str] | None = None,
    ) -> SlackRequest:
        """A signed interactivity request: ``user`` clicked a button carrying ``value``."""
        message: dict[str, Any] = {"type": "message", "user": self.bot_user, "ts": message_ts}
        if thread_ts:
            message["thread_ts"] = thread_ts
        payload = {
            "type": "block_actions",
            "user": {"id": user, "team_id": self.team},
            "team": {"id": self.team},
            "channel": {"id": channel},
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:8]}",
            "message": message,
            "actions": [
                {
                    "type": "button",
                    "action_id": uuid.uuid4().hex[:6],
                    "block_id": uuid.uuid4().hex[:6],
                    "value": value,
                    "action_ts": self.next_ts(),
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.sign(body, "application/x-www-form-urlencoded", retry=retry)


# -- a customer on Slack, talking to a running Rasa server -------------------------------

TURN_SECONDS = 60.0


def slack_id(prefix: str) -> str:
    """A fresh Slack-style id: ``U0…`` for a user, ``D0…`` a DM, ``C0…`` a channel."""
    return f"{prefix}0{uuid.uuid4().hex[:9].upper()}"


@dataclass
class SlackCustomer:
    """A person writing to the bot in one Slack channel (a DM unless told otherwise).

    Sends signed requests to the Rasa server's Slack webhook and waits, through Rasa's
    HTTP API, until each message has been handled. Conversation ids follow
    ``conversation_granularity: channel`` (``slack:<user>_<channel>``), as configured.

    Args:
        rasa_url: The Rasa server.
        auth_token: Its HTTP API token.
        slack: The fake Web API the server posts to.
        sender: Signs requests with the server's signing secret.
    """

    rasa_url: str
    auth_token: str
    slack: FakeSlack
    sender: SlackSender
    user: str = field(default_factory=lambda: slack_id("U"))
    channel: str = field(default_factory=lambda: slack_id("D"))
    channel_type: str = "im"
    thread_ts: str | None = None
    sent: int = 0

    @property
    def conversation_id(self) -> str:
        """The conversation in Rasa: the Slack channel's namespace, then user_channel."""
        return f"slack:{self.user}_{self.channel}"

    @property
    def webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/slack/webhook"

    def deliver(self, request: SlackRequest) -> requests.Response:
        """Posts a request to the webhook as Slack would."""
        return requests.post(self.webhook, data=request.body, headers=request.headers, timeout=30)

    def message(self, text: str, **options: Any) -> SlackRequest:
        """A signed message event from this customer (the first one starts the thread)."""
        ts = self.sender.next_ts()
        request = self.sender.message(
            self.user,
            text,
            channel=self.channel,
            channel_type=self.channel_type,
            ts=ts,
            thread_ts=self.thread_ts,
            **options,
        )
        self.thread_ts = self.thread_ts or ts
        return request

    def say(self, text: str, **options: Any) -> list[dict[str, Any]]:
        """Sends a message; returns the bot's posts in this channel during that turn."""
        return self.turn(self.message(text, **options))

    def click(self, value: str) -> list[dict[str, Any]]:
        """Clicks a button (of the bot's latest message) carrying ``value``."""
        request = self.sender.click(
            self.user,
            value,
            channel=self.channel,
            message_ts=self.sender.next_ts(),
            thread_ts=self.thread_ts,
        )
        return self.turn(request)

    def turn(self, request: SlackRequest) -> list[dict[str, Any]]:
        """Delivers one request and waits until the bot has answered it."""
        mark = self.slack.mark()
        answer = self.deliver(request)
        assert answer.status_code == 200, answer.text
        self.sent += 1
        self.wait_until_answered()
        return [p for p in self.slack.posts(mark) if p["channel"] == self.channel]

    def tracker(self) -> dict[str, Any]:
        """The conversation's tracker, from Rasa's HTTP API."""
        answer = requests.get(
            f"{self.rasa_url}/conversations/{self.conversation_id}/tracker",
            params={"token": self.auth_token},
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()

    def wait_until_answered(self) -> dict[str, Any]:
        """Waits (bounded) until every message sent so far has been handled."""
        deadline = time.monotonic() + TURN_SECONDS
        while True:
            tracker = self.tracker()
            events = tracker["events"]
            users = [e for e in events if e["event"] == "user"]
            last = events[-1] if events else {}
            listening = last.get("event") == "action" and last.get("name") == "action_listen"
            if len(users) >= self.sent and (listening or tracker.get("paused")):
                return tracker
            assert time.monotonic() < deadline, f"turn not finished: {events[-5:]}"
            time.sleep(0.1)  # polling interval of the bounded readiness wait

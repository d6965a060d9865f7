"""Simulated customers on the running stack's three channels, and Slack's Web API faked.

* :class:`RestCustomer`: ``POST /webhooks/rest/webhook`` with the session token of the
  first answer on every later message;
* :class:`WebChatCustomer`: the web chat's socket.io channel (``session_request``, then
  ``user_uttered`` with the session token);
* :class:`SlackCustomer`: Events API requests signed with the stack's signing secret;
  the bot's replies go to :class:`FakeSlackApi`, which ``make run`` points the Slack
  channel at while no real Slack is configured.

Each ``say`` returns once the Rasa server has handled the message (its tracker, read
through the HTTP API with the stack's token, shows the message and the assistant back
to listening).
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
from dataclasses import dataclass, field
from typing import Any

import requests
import socketio
from aiohttp import web
from requests.adapters import HTTPAdapter

from frontline.channels.ids import conversation_id as namespaced
from frontline.channels.sessions import TOKEN_HEADER

TURN_SECONDS = 90.0
POLL_SECONDS = 0.2


class DemoError(RuntimeError):
    """The stack did not answer as a customer needs."""


class _SourceAddress(HTTPAdapter):
    """Connects from a given local address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def customer_session(address: str | None) -> requests.Session:
    """An HTTP session from the customer's own address.

    Simulated customers come from addresses of their own (``127.x.y.z``: all of
    ``127.0.0.0/8`` is the loopback), as real customers do, so the channels' limits per
    client address (new conversations, unverified handoffs) apply to each of them as to
    one person, not to the whole demo.
    """
    session = requests.Session()
    if address:
        adapter = _SourceAddress(address)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


@dataclass
class Rasa:
    """The Rasa server: its URL and HTTP API token."""

    url: str
    token: str

    def tracker(self, conversation_id: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.url}/conversations/{conversation_id}/tracker",
            params={"token": self.token},
            timeout=30,
        )
        if response.status_code == 404:
            return {"events": []}
        response.raise_for_status()
        return response.json()

    def wait_until_answered(self, conversation_id: str, messages: int) -> None:
        """Waits until ``messages`` customer messages are handled (bounded)."""
        deadline = time.monotonic() + TURN_SECONDS
        while time.monotonic() < deadline:
            events = self.tracker(conversation_id).get("events") or []
            users = sum(1 for event in events if event.get("event") == "user")
            done = events and (
                events[-1].get("event") == "action"
                and events[-1].get("name") == "action_listen"
                or any(e.get("event") == "pause" for e in events[-3:])
            )
            if users >= messages and done:
                return
            time.sleep(POLL_SECONDS)
        raise DemoError(f"{conversation_id}: message {messages} was not answered in time")


@dataclass
class RestCustomer:
    """A customer's REST client (``rest:<id>``)."""

    rasa: Rasa
    customer_id: str
    address: str | None = None
    session_token: str | None = None
    sent: int = 0

    def __post_init__(self) -> None:
        self.http = customer_session(self.address)

    @property
    def conversation_id(self) -> str:
        return namespaced("rest", self.customer_id)

    def say(self, text: str) -> None:
        headers = {TOKEN_HEADER: self.session_token} if self.session_token else {}
        response = self.http.post(
            f"{self.rasa.url}/webhooks/rest/webhook",
            json={"sender": self.customer_id, "message": text},
            headers=headers,
            timeout=TURN_SECONDS,
        )
        self.session_token = response.headers.get(TOKEN_HEADER) or self.session_token
        if response.status_code != 200:
            raise DemoError(f"REST answered {response.status_code}: {response.text[:200]}")
        self.sent += 1
        self.rasa.wait_until_answered(self.conversation_id, self.sent)

    def close(self) -> None:
        self.http.close()


class WebChatCustomer:
    """A web chat visitor: one socket.io connection (long-polling, from the visitor's
    own address) and its session."""

    def __init__(self, rasa: Rasa, address: str | None = None) -> None:
        self.rasa = rasa
        self.sent = 0
        self.client = socketio.Client(reconnection=False, http_session=customer_session(address))
        confirmed: list[dict[str, Any]] = []
        ready = threading.Event()

        def on_confirm(data: dict[str, Any]) -> None:
            confirmed.append(data)
            ready.set()

        self.client.on("session_confirm", on_confirm)
        self.client.connect(rasa.url, transports=["polling"], wait_timeout=30)
        self.client.emit("session_request", {"session_id": None})
        if not ready.wait(30):
            raise DemoError("the web chat did not confirm a session")
        self.session_id = confirmed[0]["session_id"]
        self.conversation_id = confirmed[0]["conversation_id"]

    def say(self, text: str) -> None:
        self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})
        self.sent += 1
        self.rasa.wait_until_answered(self.conversation_id, self.sent)

    def close(self) -> None:
        self.client.disconnect()


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature: ``v0=`` + HMAC-SHA256 of ``v0:<timestamp>:<body>``."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


_slack_ts = itertools.count(1)


@dataclass
class SlackCustomer:
    """A person writing to the bot in a direct message, as Slack's Events API sends it."""

    rasa: Rasa
    signing_secret: str
    user: str
    channel: str = field(default_factory=lambda: f"D0{uuid.uuid4().hex[:9].upper()}")
    thread_ts: str | None = None
    sent: int = 0

    @property
    def conversation_id(self) -> str:
        return namespaced("slack", f"{self.user}_{self.channel}")

    def say(self, text: str) -> None:
        ts = f"{time.time():.0f}.{next(_slack_ts):06d}"
        event = {
            "type": "message",
            "user": self.user,
            "text": text,
            "ts": ts,
            "channel": self.channel,
            "event_ts": ts,
            "channel_type": "im",
            "team": "T0FRONTDEMO",
        }
        if self.thread_ts:
            event["thread_ts"] = self.thread_ts
        self.thread_ts = self.thread_ts or ts
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0FRONTDEMO",
                "api_app_id": "A0FRONTDEMO",
                "event": event,
                "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": "T0FRONTDEMO", "user_id": "U0FRONTBOT"}],
            }
        ).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": slack_signature(self.signing_secret, stamp, body),
        }
        response = requests.post(
            f"{self.rasa.url}/webhooks/slack/webhook", data=body, headers=headers, timeout=30
        )
        if response.status_code != 200:
            raise DemoError(f"Slack webhook answered {response.status_code}: {response.text}")
        self.sent += 1
        self.rasa.wait_until_answered(self.conversation_id, self.sent)

    def close(self) -> None:
        """Nothing to close."""


class FakeSlackApi:
    """Slack's Web API (``auth.test``, ``chat.postMessage``) on a loopback port.

    The stack's Slack channel posts its replies here; they are counted, not shown.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.posts = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ts = itertools.count(1)

    def start(self) -> FakeSlackApi:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, args=(ready, failure), daemon=True)
        self._thread.start()
        if not ready.wait(10) or failure:
            raise DemoError(f"the fake Slack Web API could not listen on port {self.port}")
        return self

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        try:
            self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        except OSError as exc:
            failure.append(exc)
            ready.set()
            return
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
        if method == "auth.test":
            return web.json_response({"ok": True, "user_id": "U0FRONTBOT", "team_id": "T0DEMO"})
        if method != "chat.postMessage":
            return web.json_response({"ok": False, "error": "unknown_method"})
        self.posts += 1
        ts = f"{time.time():.0f}.{next(self._ts):06d}"
        return web.json_response({"ok": True, "channel": body.get("channel"), "ts": ts})

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

"""The web chat's channel: Rasa's socket.io channel, with sessions that really persist.

Same events as Rasa's ``socketio`` channel (``session_request`` / ``session_confirm``,
``user_uttered`` / ``bot_uttered``) and the same channel name, so packets and contacts
say ``socketio``. What it does differently:

* **Replies reach the page.** Each browser tab joins the room of its session, and every
  reply, including one an agent sends later through Rasa's API
  (``output_channel=latest``), goes to that room. (Rasa 3.6 calls python-socketio's
  ``enter_room`` without awaiting it, which python-socketio 5.12+ made a coroutine: the
  tab never joins, and replies to a persistent session reach nobody.)
* **A session id is a random 128-bit token the server issued.** A page may resume its
  session after a reload by sending the id back in ``session_request``; anything that
  is not such a token (say, a Slack user id, which is the conversation id of a Slack
  conversation) gets a fresh session instead, so a web page can never attach itself to
  another channel's conversation. Messages run in the session the socket joined,
  whatever ``session_id`` they name.
* **Text is checked** like the REST channel's (control characters removed; empty,
  binary or over-long messages answered with ``{"error", "text"}`` and not run).
* **Who speaks is passed on.** A message whose metadata says ``"sender": "agent"``
  (an agent's reply from the desk) reaches the page with ``sender`` and ``agent_name``,
  so the page can show that a person is writing.
* **Several Rasa servers** can serve the web chat: with ``REDIS_URL`` set, replies
  are published through Redis (python-socketio's ``AsyncRedisManager``), so a reply
  produced on one server (an agent's, say) reaches a page connected to another. The
  page uses WebSocket only, so a connection stays on one server without sticky
  sessions.
* **Allowed origins** can be restricted (``WEBCHAT_ALLOWED_ORIGINS``, or the
  credentials' ``cors_allowed_origins`` list); empty allows every page, as in Rasa.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import rasa.core.channels.channel
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from frontline.channels.guard import check_message_text, clean_text
from frontline.channels.messages import speaker
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

SESSION_ID_RE = re.compile(r"^[0-9a-f]{32}$")
#: The Redis pub/sub channel the Rasa servers share the web chat's messages on.
REDIS_CHANNEL = "frontline:socketio"


def new_session_id() -> str:
    """A fresh session id: 128 random bits as 32 lower-case hex digits."""
    return uuid.uuid4().hex


def valid_session_id(value: Any) -> str | None:
    """``value`` if it has the shape of an issued session id, else None."""
    return value if isinstance(value, str) and SESSION_ID_RE.match(value) else None


class WebChatOutput(SocketIOOutput):
    """Rasa's socket.io output, telling the page when a human agent writes."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in text.strip().split("\n\n"):
            await self._send_message(recipient_id, {"text": part, **speaker(kwargs)})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        parts = text.strip().split("\n\n") or [text]
        messages: list[dict[str, Any]] = [
            {"text": part, "quick_replies": [], **speaker(kwargs)} for part in parts
        ]
        messages[-1]["quick_replies"] = [
            {"content_type": "text", "title": button["title"], "payload": button["payload"]}
            for button in buttons
        ]
        for message in messages:
            await self._send_message(recipient_id, message)


class WebChatInput(SocketIOInput):
    """Rasa's ``socketio`` channel with working, server-issued sessions (see module).

    Takes Rasa's arguments, plus ``allowed_origins`` (the pages that may connect;
    empty: every page), ``redis_url`` (share messages with the other Rasa servers) and
    ``redis_channel`` (the pub/sub channel they share).
    """

    def __init__(
        self,
        *args: Any,
        allowed_origins: list[str] | None = None,
        redis_url: str | None = None,
        redis_channel: str = REDIS_CHANNEL,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_origins = list(allowed_origins or [])
        self.redis_url = redis_url
        self.redis_channel = redis_channel

    @classmethod
    def name(cls) -> str:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebChatInput:
        credentials = credentials or {}
        if credentials.get("session_persistence") is False:
            logger.warning("session_persistence: false is ignored; web chat sessions persist")
        origins = credentials.get("cors_allowed_origins")
        settings = get_settings()
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            True,  # sessions always persist: a reload must not lose the conversation
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
            allowed_origins=(
                [str(origin).rstrip("/") for origin in origins]
                if isinstance(origins, list)
                else list(settings.webchat_allowed_origins)
            ),
            redis_url=settings.redis_url,
        )

    def get_output_channel(self) -> OutputChannel | None:
        if self.sio is None:
            return super().get_output_channel()  # warns: another process holds the sockets
        return WebChatOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        manager = (
            AsyncRedisManager(self.redis_url, channel=self.redis_channel)
            if self.redis_url
            else None
        )
        # An empty list switches python-engineio's origin check off (every page may
        # connect), as in Rasa; a list of origins is enforced on the WebSocket too.
        sio = AsyncServer(
            async_mode="sanic", cors_allowed_origins=self.allowed_origins, client_manager=manager
        )
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.listener("before_server_stop")
        async def stop_sockets(_app: Any, _loop: Any) -> None:
            await sio.shutdown()  # python-socketio: call before the web server stops
            # Its shutdown leaves the Redis manager's listener task running: stop it too.
            listener = getattr(sio.manager, "thread", None)
            if isinstance(listener, asyncio.Task):
                listener.cancel()

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict, auth: dict | None) -> bool:
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            payload = (
                rasa.core.channels.channel.decode_bearer_token(
                    token, self.jwt_key, self.jwt_algorithm
                )
                if token
                else None
            )
            if not payload:
                logger.info("Refused a web chat connection without a valid token")
            return bool(payload)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = valid_session_id(requested) or new_session_id()
            if requested and requested != session_id:
                logger.info("Web chat %s asked for an unknown kind of session id: new one", sid)
            previous = (await sio.get_session(sid, namespace=namespace)).get("session_id")
            if previous and previous != session_id:
                await sio.leave_room(sid, previous, namespace=namespace)
            await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.save_session(sid, {"session_id": session_id}, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            session_id = (await sio.get_session(sid, namespace=namespace)).get("session_id")
            if not session_id:
                logger.warning("Ignored a web chat message sent before session_request")
                return
            if not isinstance(data, dict):
                data = {}
            named = data.get("session_id")
            if named and named != session_id:
                logger.warning("Ignored a web chat message naming another session")
                return
            text = data.get("message")
            rejection = check_message_text(text)
            if rejection is not None:
                logger.info("Refused a web chat message: %s", rejection.error)
                await sio.emit(
                    self.bot_message_evt,
                    {"text": rejection.message, "error": rejection.error},
                    room=sid,
                    namespace=namespace,
                )
                return
            metadata = data.get(self.metadata_key)
            message = UserMessage(
                clean_text(text),
                WebChatOutput(sio, self.bot_message_evt),
                session_id,
                input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else {},
            )
            await on_new_message(message)

        return webhook

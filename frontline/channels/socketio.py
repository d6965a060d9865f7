"""The web chat's channel: Rasa's socket.io channel, with sessions that really persist.

Same events as Rasa's ``socketio`` channel (``session_request`` / ``session_confirm``,
``user_uttered`` / ``bot_uttered``) and the same channel name, so packets and contacts
say ``socketio``. What it does differently:

* **Replies reach the page.** Each browser tab joins the room of its session, and every
  reply, including one an agent sends later through Rasa's API
  (``output_channel=latest``), goes to that room. (Rasa 3.6 calls python-socketio's
  ``enter_room`` without awaiting it, which python-socketio 5.12+ made a coroutine: the
  tab never joins, and replies to a persistent session reach nobody.)
* **A session is a secret the server issued.** ``session_confirm`` carries
  ``{"session_id": <token>, "conversation_id": "socketio:<32 hex digits>"}``: the
  conversation id is random, the token is that id signed by the server
  (:mod:`~frontline.channels.sessions`). A page resumes its conversation after a
  reload by sending the token back in ``session_request``; anything else (an old
  32-digit session id, a Slack user id, a forged or foreign token) gets a new
  conversation, so a page can never attach itself to a conversation it was not given,
  in this channel or another. Messages run in the conversation the socket joined,
  whatever ``session_id`` they name. Agents see the conversation id, never the token.
* **Everything a page sends is checked** like the REST channel's input
  (:mod:`~frontline.channels.guard`: text, metadata, encoding, size; JSON is decoded
  with a depth limit, :data:`SAFE_JSON`), and limited like it
  (:mod:`~frontline.channels.admission`). A refused message is answered with a
  ``bot_uttered`` ``{"text", "error"}`` on the same connection, which stays open, and
  is not run.
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
import json
import logging
import types
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import rasa.core.channels.channel
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer, packet

from frontline.channels import ids
from frontline.channels.admission import (
    Admission,
    RecordsResponses,
    Refusal,
    client_address,
    conversation_verified,
    domain_texts,
    load_limits,
)
from frontline.channels.guard import (
    DEFAULT_LIMITS,
    Rejection,
    check_message_text,
    check_metadata,
    clean_text,
    loads_bounded,
)
from frontline.channels.messages import speaker
from frontline.channels.ratelimit import create_from_settings as create_limiter
from frontline.channels.sessions import SessionSigner, signer_from_settings
from frontline.channels.turns import run_message
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

CHANNEL = "socketio"
#: The Redis pub/sub channel the Rasa servers share the web chat's messages on.
REDIS_CHANNEL = "frontline:socketio"
#: The event a packet that is not acceptable JSON becomes (see :data:`SAFE_JSON`).
INVALID_PACKET_EVENT = "frontline_invalid_packet"


def _loads(text: str | bytes, *args: Any, **kwargs: Any) -> Any:
    """Decodes a socket.io packet's JSON with a depth limit.

    python-socketio decodes every packet with ``json.loads`` before any handler runs, so
    JSON nested thousands deep would reach Python's recursive decoder. What cannot be
    decoded safely becomes an event of its own, which the channel answers with an error
    on the same connection.
    """
    try:
        return loads_bounded(text, DEFAULT_LIMITS.max_json_depth)
    except ValueError:
        return [INVALID_PACKET_EVENT, {"error": "invalid_json"}]


#: The JSON module given to python-socketio (it needs ``dumps`` and ``loads``).
SAFE_JSON = types.SimpleNamespace(dumps=json.dumps, loads=_loads)


class SafePacket(packet.Packet):
    """python-socketio's packet, turning what a page never sends into one event we answer.

    Garbage on the socket (an unknown packet type, a binary packet, which would make
    every later message of the connection an "attachment", an event whose name is not
    a string) raised inside python-socketio: a traceback per packet, and a connection
    stuck after a binary one. Such packets become :data:`INVALID_PACKET_EVENT`.
    """

    json = SAFE_JSON

    def __init__(self, *args: Any, encoded_packet: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, encoded_packet=encoded_packet, **kwargs)
        if encoded_packet is not None and not encoded_packet:  # an empty message
            self._refuse()

    def _refuse(self) -> None:
        self.packet_type, self.id = packet.EVENT, None
        self.data = [INVALID_PACKET_EVENT, {"error": "invalid_packet"}]

    def decode(self, encoded_packet: Any) -> int:
        try:
            attachments = super().decode(encoded_packet)
        except (ValueError, TypeError, IndexError):
            attachments = -1
        accepted = (packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK)
        event_named = self.packet_type != packet.EVENT or (
            isinstance(self.data, list) and bool(self.data) and isinstance(self.data[0], str)
        )
        if attachments != 0 or self.packet_type not in accepted or not event_named:
            self._refuse()
        return 0


def new_conversation_id() -> str:
    """A fresh web chat conversation: ``socketio:`` and 128 random bits in hex."""
    return ids.conversation_id(CHANNEL, uuid.uuid4().hex)


class WebChatOutput(RecordsResponses, SocketIOOutput):
    """Rasa's socket.io output, telling the page when a human agent writes."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

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
    """Rasa's ``socketio`` channel with server-issued, signed sessions (see module).

    Takes Rasa's arguments, plus ``allowed_origins`` (the pages that may connect;
    empty: every page), ``redis_url`` (share messages with the other Rasa servers),
    ``redis_channel`` (the pub/sub channel they share), ``signer`` (the session
    tokens), ``admission`` (the limits) and ``trusted_proxy_hops``.
    """

    def __init__(
        self,
        *args: Any,
        allowed_origins: list[str] | None = None,
        redis_url: str | None = None,
        redis_channel: str = REDIS_CHANNEL,
        signer: SessionSigner,
        admission: Admission,
        trusted_proxy_hops: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_origins = list(allowed_origins or [])
        self.redis_url = redis_url
        self.redis_channel = redis_channel
        self.signer = signer
        self.admission = admission
        self.trusted_proxy_hops = trusted_proxy_hops
        self._app: Any = None

    @classmethod
    def name(cls) -> str:
        return CHANNEL

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
            signer=signer_from_settings(settings),
            admission=Admission(load_limits(settings), create_limiter(settings)),
            trusted_proxy_hops=settings.trusted_proxy_hops,
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
            async_mode="sanic",
            cors_allowed_origins=self.allowed_origins,
            client_manager=manager,
            serializer=SafePacket,
            json=SAFE_JSON,
            max_http_buffer_size=self.admission.policy.input.max_request_bytes,
        )
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace

        async def refuse(sid: str, problem: Rejection | Refusal) -> None:
            """Answers on the same connection, which stays open; nothing runs."""
            body: dict[str, Any] = {"text": problem.message, "error": problem.error}
            if isinstance(problem, Refusal):
                body["retry_after"] = problem.retry_seconds
            await sio.emit(self.bot_message_evt, body, room=sid, namespace=namespace)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.listener("before_server_start")
        async def know_the_app(app: Any, _loop: Any) -> None:
            self._app = app
            self.admission.texts = domain_texts(app, CHANNEL)

        @webhook.listener("before_server_stop")
        async def stop_sockets(_app: Any, _loop: Any) -> None:
            await sio.shutdown()  # python-socketio: call before the web server stops
            # Its shutdown leaves the Redis manager's listener task running: stop it too.
            listener = getattr(sio.manager, "thread", None)
            if isinstance(listener, asyncio.Task):
                listener.cancel()

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict, auth: Any = None) -> bool:
            request = environ.get("sanic.request")
            client = "ip:" + client_address(
                getattr(request, "ip", None),
                request.headers.get("x-forwarded-for") if request is not None else None,
                self.trusted_proxy_hops,
            )
            await sio.save_session(sid, {"client": client}, namespace=namespace)
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            payload = (
                rasa.core.channels.channel.decode_bearer_token(
                    token, self.jwt_key, self.jwt_algorithm
                )
                if isinstance(token, str)
                else None
            )
            if not payload:
                logger.info("Refused a web chat connection without a valid token")
            return bool(payload)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None, *_: Any) -> None:
            session = await sio.get_session(sid, namespace=namespace)
            refusal = await self.admission.check_client(session.get("client", "ip:unknown"))
            if refusal is not None:
                await refuse(sid, refusal)
                return
            requested = data.get("session_id") if isinstance(data, dict) else None
            conversation_id = self.signer.conversation_of(requested)
            new = conversation_id is None or ids.split(conversation_id).channel != CHANNEL
            if conversation_id is None or new:
                if requested:
                    logger.info("Web chat %s sent a session it was not given: new one", sid)
                conversation_id = new_conversation_id()
            previous = session.get("conversation_id")
            if previous and previous != conversation_id:
                await sio.leave_room(sid, previous, namespace=namespace)
            await sio.enter_room(sid, conversation_id, namespace=namespace)
            token = self.signer.issue(conversation_id)
            await sio.save_session(
                sid,
                {**session, "conversation_id": conversation_id, "token": token, "new": new},
                namespace=namespace,
            )
            await sio.emit(
                "session_confirm",
                {"session_id": token, "conversation_id": conversation_id},
                room=sid,
                namespace=namespace,
            )

        @sio.on(INVALID_PACKET_EVENT, namespace=namespace)
        async def invalid_packet(sid: str, data: Any = None, *_: Any) -> None:
            error = data.get("error") if isinstance(data, dict) else None
            error = error if error in ("invalid_json", "invalid_packet") else "invalid_packet"
            logger.info("Refused a web chat packet: %s", error)
            await refuse(sid, Rejection(400, error, "That message could not be read."))

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None, *_: Any) -> None:
            session = await sio.get_session(sid, namespace=namespace)
            conversation_id = session.get("conversation_id")
            if not conversation_id:
                logger.info("Refused a web chat message sent before session_request")
                await refuse(
                    sid, Rejection(400, "no_session", "Please reload the page to start the chat.")
                )
                return
            problem: Rejection | Refusal | None = self._check(data, session)
            if problem is None:
                client = session.get("client", "ip:unknown")
                problem = await self.admission.check_client(client) or (
                    await self.admission.check_conversation(
                        client, conversation_id, new=bool(session.get("new"))
                    )
                )
            if problem is not None:
                logger.info("Refused a web chat message: %s", problem.error)
                await refuse(sid, problem)
                return
            if session.get("new"):
                await sio.save_session(sid, {**session, "new": False}, namespace=namespace)
            output = WebChatOutput(sio, self.bot_message_evt)
            metadata = data.get(self.metadata_key)
            message = UserMessage(
                clean_text(data["message"]),
                output,
                conversation_id,
                input_channel=CHANNEL,
                metadata=dict(metadata or {}),
            )
            if not await run_message(on_new_message, message, self._app):
                await refuse(
                    sid,
                    Rejection(
                        503,
                        "unavailable",
                        "The assistant could not handle your message just now; "
                        "please try again.",
                    ),
                )
                return
            await self.admission.record_turn(
                session.get("client", "ip:unknown"),
                output.responses_sent,
                lambda: conversation_verified(self._app, conversation_id),
            )

        return webhook

    def _check(self, data: Any, session: dict[str, Any]) -> Rejection | None:
        """The message's own checks: shape, the session it names, text, metadata."""
        if not isinstance(data, dict):
            return Rejection(400, "invalid_message", "A message must be a JSON object.")
        named = data.get("session_id")
        if named and named not in (session.get("token"), session.get("conversation_id")):
            return Rejection(
                403, "session_mismatch", "This message names a conversation of someone else."
            )
        limits = self.admission.policy.input
        return check_message_text(data.get("message"), limits) or check_metadata(
            data.get(self.metadata_key), limits
        )

"""The REST channel: Rasa's ``rest`` webhook, with the conversation bound to a secret.

``POST /webhooks/rest/webhook`` with ``{"sender", "message", "metadata"?}`` answers, as
Rasa's does, with the list of the assistant's messages. On top of it:

* **Input checks** (:mod:`~frontline.channels.guard`): the body is read up to the
  policy's ceiling and parsed without recursion; a request that is not usable gets a
  4xx with ``{"error", "message"}`` and Rasa never sees it.
* **A session token.** The first message of a conversation is answered with an
  ``X-Session-Token`` header (:mod:`~frontline.channels.sessions`); every later message
  of that ``sender`` must carry it back (the same header, or ``"session_token"`` in the
  body). Without it: 401; with a wrong one: 403; the conversation is untouched. The
  body stays a plain list, so clients that read only the messages keep working once
  they echo the header (docs/decisions/channel-security.md).
* **Its own namespace.** The conversation is ``rest:<sender>`` inside Rasa
  (:mod:`~frontline.channels.ids`), so a REST caller cannot reach a Slack or web chat
  conversation; ``input_channel`` in the body is ignored (replies to the conversation
  go out on the channel that received it, never one the caller names). The replies'
  ``recipient_id`` is the caller's own ``sender``.
* **Limits** (:mod:`~frontline.channels.admission`): 429 with ``Retry-After`` past the
  per-client, per-conversation or new-conversation rate, or the cap on handoffs of
  unverified conversations.
* **A failure is never silence** (:mod:`~frontline.channels.turns`): if handling the
  message fails, or a custom action failed, the answer holds a clear message and a
  handoff is recorded (Rasa's channel answered 200 and an empty list); 503 with
  ``{"error", "message"}`` only when not even that could be done.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from frontline.channels import ids
from frontline.channels.admission import (
    Admission,
    RecordsResponses,
    Refusal,
    client_address,
    conversation_verified,
    domain_texts,
    load_limits,
    receive_body_within,
)
from frontline.channels.guard import Rejection, check_rest_body
from frontline.channels.ratelimit import create_from_settings as create_limiter
from frontline.channels.sessions import TOKEN_HEADER, SessionSigner, signer_from_settings
from frontline.channels.store import ChannelStore, MemoryChannelStore
from frontline.channels.store import create_from_settings as create_store
from frontline.channels.turns import run_message
from frontline.errors import ChannelStoreError
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

CHANNEL = "rest"
#: How long the first answer of a new conversation is remembered as given (so two
#: callers racing for one new sender cannot both get its token).
ISSUED_TTL_SECONDS = 24 * 3600.0


class RestCollector(RecordsResponses, CollectingOutputChannel):
    """Collects the replies of one request, noting which responses they were."""


def _error(error: Rejection | Refusal) -> HTTPResponse:
    headers = error.headers if isinstance(error, Refusal) else None
    return response.json(error.as_json(), status=error.status, headers=headers)


def _problem(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": code, "message": message}, status=status)


class GuardedRestInput(InputChannel):
    """The ``rest`` channel, bound to session tokens, checked and limited (see module).

    Args:
        signer: Issues and checks session tokens.
        admission: The limits.
        store: Remembers the new conversations whose token was given.
        trusted_proxy_hops: Proxies whose ``X-Forwarded-For`` entries are believed.
    """

    def __init__(
        self,
        signer: SessionSigner,
        admission: Admission,
        store: ChannelStore | None = None,
        trusted_proxy_hops: int = 0,
    ) -> None:
        self.signer = signer
        self.admission = admission
        self.store: ChannelStore = store or MemoryChannelStore()
        self.trusted_proxy_hops = trusted_proxy_hops

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GuardedRestInput:
        settings = get_settings()
        return cls(
            signer_from_settings(settings),
            Admission(load_limits(settings), create_limiter(settings)),
            create_store(settings),
            settings.trusted_proxy_hops,
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.listener("before_server_start")
        async def know_the_domain(app: Any, _loop: Any) -> None:
            self.admission.texts = domain_texts(app, CHANNEL)

        # Streamed, so the body is read only up to the policy's ceiling.
        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        return webhook

    async def receive(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        """Checks, binds and limits one message, then runs it (see module)."""
        limits = self.admission.policy.input
        if not await receive_body_within(request, limits.max_request_bytes):
            return _problem(
                413,
                "request_too_large",
                f"The request is larger than {limits.max_request_bytes:,} bytes.",
            )
        checked = check_rest_body(request.body, limits)
        if isinstance(checked, Rejection):
            logger.info("Refused a REST message: %s", checked.error)
            return _error(checked)

        client = "ip:" + client_address(
            request.ip, request.headers.get("x-forwarded-for"), self.trusted_proxy_hops
        )
        refusal = await self.admission.check_client(client)
        if refusal is not None:
            return _error(refusal)

        conversation_id = ids.conversation_id(CHANNEL, checked.sender)
        token = request.headers.get(TOKEN_HEADER) or checked.session_token
        if token:
            if not self.signer.holds(token, conversation_id):
                logger.warning("Refused a REST message with a wrong session token (%s)", client)
                return _problem(
                    403,
                    "session_mismatch",
                    "This session token does not belong to this conversation.",
                )
            new = False
        else:
            exists = await self._exists(request, conversation_id)
            if exists is None:
                return _problem(
                    503, "unavailable", "The assistant cannot look up conversations just now."
                )
            new = not exists
        if not token and not new:
            logger.warning("Refused a REST message without its session token (%s)", client)
            return _problem(
                401,
                "session_required",
                f"This conversation continues only with the {TOKEN_HEADER} header its first "
                "answer carried; to start afresh, use another sender id.",
            )

        refusal = await self.admission.check_conversation(client, conversation_id, new=new)
        if refusal is not None:
            return _error(refusal)
        if new and not await self._first_to_start(conversation_id):
            return _problem(
                401, "session_required", "This conversation has just been started by someone else."
            )

        collector = RestCollector()
        message = UserMessage(
            checked.text,
            collector,
            conversation_id,
            input_channel=CHANNEL,
            metadata=checked.metadata,
        )
        token_header = {TOKEN_HEADER: self.signer.issue(conversation_id)}
        if not await run_message(on_new_message, message, request.app):
            # The caller still gets the token: the conversation may exist now.
            return response.json(
                {
                    "error": "unavailable",
                    "message": "The assistant could not handle your message just now; "
                    "please try again.",
                },
                status=503,
                headers=token_header,
            )
        await self.admission.record_turn(
            client,
            collector.responses_sent,
            lambda: conversation_verified(request.app, conversation_id),
        )
        replies = [{**reply, "recipient_id": checked.sender} for reply in collector.messages]
        return response.json(replies, headers=token_header)

    async def _exists(self, request: Request, conversation_id: str) -> bool | None:
        """Whether the conversation was started already (its token was given once);
        None when the tracker store cannot say."""
        try:
            if await self.store.get(_issued_key(conversation_id)):
                return True
        except ChannelStoreError as exc:
            logger.warning(
                "Cannot check conversation %s in the channel store: %s", conversation_id, exc
            )
        agent = getattr(request.app.ctx, "agent", None)
        tracker_store = getattr(agent, "tracker_store", None)
        if tracker_store is None:
            return False
        try:
            return bool(await tracker_store.exists(conversation_id))
        except Exception:  # noqa: BLE001 - any store failure: answer 503, never crash
            logger.exception("The tracker store could not look up %s", conversation_id)
            return None

    async def _first_to_start(self, conversation_id: str) -> bool:
        try:
            return await self.store.claim(_issued_key(conversation_id), ISSUED_TTL_SECONDS)
        except ChannelStoreError as exc:
            logger.warning("Cannot note conversation %s as started: %s", conversation_id, exc)
            return True


def _issued_key(conversation_id: str) -> str:
    return f"rest:issued:{conversation_id}"

"""Slack: Rasa's Slack channel, made safe to run and safe to be retried.

On top of Rasa's ``SlackInput`` (signature check with Slack's 5-minute replay window,
``use_threads``, ``conversation_granularity``) this channel:

* **is off without a signing secret.** Rasa refuses to start when the secret is empty;
  one ``credentials.yml`` serves laptops and production, so without a secret the
  channel starts with a random one and refuses every request.
* **runs each Slack message once.** Slack delivers an event again (``X-Slack-Retry-Num``)
  whenever it did not see a 2xx within 3 seconds, for any reason: ``http_timeout``,
  ``http_error``, ``connection_failed``... Rasa drops retries only for the reasons in
  ``errors_ignore_retry`` and runs every other retry again (the same actions, the same
  backend calls). Here every delivery is identified (the message's channel and ``ts``,
  or the button click's ``action_ts``) and claimed in a :mod:`~frontline.channels.store`
  before it runs; a retry of a claimed delivery is answered 200 with
  ``X-Slack-No-Retry: 1`` and runs nothing, whatever its reason. A message that
  reaches us both as ``message`` and as ``app_mention`` runs once too. A retry of a
  delivery we never saw (it really was lost) runs normally.
* **talks to a configurable Web API.** ``SLACK_API_URL`` (default Slack's) lets tests
  point the bot at a local fake that records ``chat.postMessage`` calls.
* **replies where the customer wrote, also outside a request.** An agent's reply sent
  through Rasa's API (``output_channel=latest``) has no Slack event to answer; the
  channel remembers each conversation's Slack channel and thread, so the reply lands
  in the same conversation (for ``sender`` granularity in the customer's direct
  messages, never in ``SLACK_CHANNEL`` where other people would read it).
* **reads every request defensively** (:mod:`~frontline.channels.slack_events`): after
  the signature check the body is parsed with the same JSON limits as every channel
  and each field's type and shape is checked; a body Slack would never send gets 400
  ``{"error", "message"}`` (Rasa's channel answered some with 500).
* **checks the text** like the other channels (control characters removed; a message
  over 2,000 characters is answered with a request to shorten it and not run).
* **namespaces its conversations**: ``slack:<user>_<channel>`` inside Rasa
  (:mod:`~frontline.channels.ids`), so no other channel can address them.
* **limits each Slack user** (:mod:`~frontline.channels.admission`): past a rate limit,
  or the cap on handoffs of unverified conversations for a new conversation, the
  person is told so in the thread and the message is not run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from frontline.channels import ids
from frontline.channels.admission import (
    Admission,
    RecordsResponses,
    Refusal,
    conversation_verified,
    domain_texts,
    load_limits,
    receive_body_within,
)
from frontline.channels.guard import Rejection, check_message_text, clean_text
from frontline.channels.messages import speaker
from frontline.channels.ratelimit import create_from_settings as create_limiter
from frontline.channels.slack_events import SlackInbound, read_slack_request
from frontline.channels.store import ChannelStore, MemoryChannelStore, create_from_settings
from frontline.channels.turns import run_message
from frontline.errors import ChannelStoreError
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

CHANNEL = "slack"
DEFAULT_API_URL = "https://slack.com/api/"
#: How long a delivery is remembered: Slack retries within minutes, the
#: signature's replay window is 5 minutes.
DELIVERY_TTL_SECONDS = 3600.0
#: How long the place of a conversation is remembered for replies from an agent.
ADDRESS_TTL_SECONDS = 30 * 24 * 3600.0
NO_RETRY_HEADERS = {"X-Slack-No-Retry": "1"}


def _address_key(conversation_id: str) -> str:
    return f"slack:address:{conversation_id}"


class SlackOutput(RecordsResponses, SlackBot):
    """Rasa's Slack output, on a configurable Web API, finding its way without an event.

    Args:
        token: The bot token (``xoxb-...``).
        slack_channel: The Slack channel to post to; None for a reply outside a
            request (an agent's reply), which goes where the conversation lives.
        thread_id: The thread to reply in (``use_threads``).
        proxy: HTTP proxy of the Web API calls.
        api_url: Base URL of Slack's Web API.
        store: Where the conversations' places are remembered.
    """

    def __init__(
        self,
        token: str,
        slack_channel: str | None = None,
        thread_id: str | None = None,
        proxy: str | None = None,
        *,
        api_url: str = DEFAULT_API_URL,
        store: ChannelStore | None = None,
    ) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = AsyncWebClient(token, base_url=api_url, proxy=proxy)
        self._store = store
        self._find_conversation = slack_channel is None

    async def _place_of(self, conversation_id: str) -> tuple[str, str | None]:
        """The Slack channel and thread where the conversation last took place."""
        if self._store is not None:
            try:
                stored = await self._store.get(_address_key(conversation_id))
            except ChannelStoreError as exc:
                logger.warning("Cannot look up where conversation %s is: %s", conversation_id, exc)
                stored = None
            if stored:
                place = json.loads(stored)
                return str(place["channel"]), place.get("thread_ts")
        # Channel and thread granularity put them in the id: [slack:]user_channel[_thread].
        parts = ids.split(conversation_id).channel_id.split("_")
        if len(parts) >= 2 and parts[1]:
            return parts[1], parts[2] if len(parts) > 2 and parts[2] else None
        # Sender granularity: the customer's direct messages with the app.
        return parts[0], None

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        who = speaker(kwargs)
        if who:  # an agent's reply from the desk: say a person is writing
            text = f"*{who['agent_name']}* (support team): {text.strip()}"
        await super().send_text_message(recipient_id, text, **kwargs)

    async def _post_message(self, channel: str, **kwargs: Any) -> None:
        thread_ts = self.thread_id
        if self._find_conversation:
            channel, thread_ts = await self._place_of(channel)
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            await self.client.chat_postMessage(channel=channel, **kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            logger.error("Slack refused a message to %s: %s", channel, error or exc)
            raise


class SlackChannel(SlackInput):
    """Rasa's Slack channel: off without a secret, each delivery run once (see module)."""

    def __init__(
        self,
        slack_token: str,
        slack_channel: str | None = None,
        proxy: str | None = None,
        slack_retry_reason_header: str | None = None,
        slack_retry_number_header: str | None = None,
        errors_ignore_retry: list[str] | None = None,
        use_threads: bool | None = False,
        slack_signing_secret: str = "",
        conversation_granularity: str | None = "sender",
        *,
        api_url: str = DEFAULT_API_URL,
        store: ChannelStore | None = None,
        admission: Admission | None = None,
    ) -> None:
        super().__init__(
            slack_token,
            slack_channel or None,
            proxy,
            slack_retry_reason_header or "x-slack-retry-reason",
            slack_retry_number_header or "x-slack-retry-num",
            errors_ignore_retry,
            use_threads,
            slack_signing_secret,
            conversation_granularity or "sender",
        )
        if self.conversation_granularity not in ("sender", "channel", "thread"):
            raise ValueError(
                "conversation_granularity must be sender, channel or thread, "
                f"not {self.conversation_granularity!r}"
            )
        self.api_url = api_url
        self.store: ChannelStore = store or MemoryChannelStore()
        settings = get_settings()
        self.admission = admission or Admission(load_limits(settings), create_limiter(settings))
        self._tasks: set[asyncio.Task[Any]] = set()
        self._app: Any = None

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SlackInput:
        credentials = dict(credentials or {})
        if not credentials.get("slack_signing_secret"):
            logger.warning("SLACK_SIGNING_SECRET is not set: the Slack channel refuses requests")
            credentials["slack_signing_secret"] = secrets.token_hex(32)
        settings = get_settings()
        return cls(
            credentials.get("slack_token") or "",
            credentials.get("slack_channel"),
            credentials.get("proxy"),
            credentials.get("slack_retry_reason_header"),
            credentials.get("slack_retry_number_header"),
            credentials.get("errors_ignore_retry"),
            bool(credentials.get("use_threads", False)),
            credentials["slack_signing_secret"],
            credentials.get("conversation_granularity"),
            api_url=credentials.get("slack_api_url") or settings.slack_api_url,
            store=create_from_settings(settings),
        )

    # -- output ----------------------------------------------------------------------

    def get_output_channel(
        self, channel: str | None = None, thread_id: str | None = None
    ) -> OutputChannel:
        """The output for a reply: to ``channel``, or (no channel) where the conversation is."""
        return SlackOutput(
            self.slack_token, channel, thread_id, self.proxy, api_url=self.api_url, store=self.store
        )

    # -- input -----------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("slack_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.listener("before_server_start")
        async def know_the_app(app: Any, _loop: Any) -> None:
            self._app = app
            self.admission.texts = domain_texts(app, CHANNEL)

        # Streamed, so the body is read only up to the policy's ceiling.
        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        return webhook

    async def receive(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        """Authenticates and reads a Slack request, then runs its message once."""
        limits = self.admission.policy.input
        if not await receive_body_within(request, limits.max_request_bytes):
            return _problem(Rejection(413, "request_too_large", "The request is too large."))
        if not self.is_request_from_slack_authentic(request):
            logger.warning(
                "Refused a Slack request with a bad signature or a timestamp outside "
                "the 5-minute window (from %s)",
                request.ip,
            )
            return _problem(
                Rejection(
                    400,
                    "invalid_signature",
                    "Message is not properly signed with a valid X-Slack-Signature header",
                )
            )
        inbound = read_slack_request(
            request.headers.get("content-type"), request.body, self.slack_channel, limits
        )
        if isinstance(inbound, Rejection):
            logger.warning("Refused a signed Slack request: %s", inbound.error)
            return _problem(inbound)
        if inbound.kind == "challenge":  # Slack expects {"challenge": ...} back
            return response.json({"challenge": inbound.challenge})
        if inbound.kind == "ignored":
            logger.debug("Ignored a Slack request: %s", inbound.note)
            return response.text("")
        return await self.process_inbound(request, on_new_message, inbound)

    async def process_inbound(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        inbound: SlackInbound,
    ) -> HTTPResponse:
        """Runs a Slack message unless this delivery was already run (see module)."""
        retry = request.headers.get(self.retry_num_header)
        reason = request.headers.get(self.retry_reason_header)
        key = inbound.delivery_key
        if key is None and retry:
            logger.warning("Dropped Slack retry #%s (%s) that names no message", retry, reason)
            return response.text("", headers=NO_RETRY_HEADERS)
        if key is not None and not await self._first_delivery(key):
            logger.info("Ignored Slack retry #%s (%s) of %s: already run", retry, reason, key)
            return response.text("", headers=NO_RETRY_HEADERS)

        thread_id = inbound.thread_id if self.use_threads else None
        conversation_id = ids.conversation_id(
            CHANNEL, self._get_conversation_id(inbound.user, inbound.channel, inbound.thread_id)
        )
        output = self.get_output_channel(inbound.channel, thread_id)
        text = self._sanitize_user_message(inbound.text, list(inbound.app_users))
        problem: Rejection | Refusal | None = check_message_text(text, self.admission.policy.input)
        if problem is None:
            client = f"slack:{inbound.team}:{inbound.user}"
            problem = await self.admission.check_client(client) or (
                await self.admission.check_conversation(
                    client, conversation_id, new=await self._first_message(conversation_id)
                )
            )
        if problem is not None:
            logger.info("Refused a Slack message in %s: %s", conversation_id, problem.error)
            self._in_background(output.send_text_message(conversation_id, problem.message))
            return response.text("")
        if inbound.channel:
            await self._remember_place(conversation_id, inbound.channel, thread_id)
        metadata = {
            "out_channel": inbound.channel,
            "thread_id": inbound.thread_id,
            "users": list(inbound.app_users),
        }
        message = UserMessage(
            clean_text(text), output, conversation_id, input_channel=CHANNEL, metadata=metadata
        )
        # Slack wants an answer within 3 seconds: the message runs after we answer.
        self._in_background(self._run(on_new_message, message, client))
        return response.text("")

    async def _run(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        message: UserMessage,
        client: str,
    ) -> None:
        if not await run_message(on_new_message, message, self._app):
            return
        output = message.output_channel
        responses = output.responses_sent if isinstance(output, RecordsResponses) else []
        await self.admission.record_turn(
            client, responses, lambda: conversation_verified(self._app, message.sender_id or "")
        )

    async def _first_message(self, conversation_id: str) -> bool:
        """Whether this is the first message of the conversation this server has seen."""
        try:
            return await self.store.claim(f"slack:seen:{conversation_id}", ADDRESS_TTL_SECONDS)
        except ChannelStoreError as exc:
            logger.warning("Cannot tell whether %s is a new conversation: %s", conversation_id, exc)
            return False

    async def _first_delivery(self, key: str) -> bool:
        try:
            return await self.store.claim(key, DELIVERY_TTL_SECONDS)
        except ChannelStoreError as exc:
            # Better a possible duplicate (backend writes are idempotent anyway) than
            # a customer's message silently dropped.
            logger.error("Cannot check Slack delivery %s, running it: %s", key, exc)
            return True

    async def _remember_place(
        self, conversation_id: str, channel: str, thread_ts: str | None
    ) -> None:
        place = json.dumps({"channel": channel, "thread_ts": thread_ts})
        try:
            await self.store.put(_address_key(conversation_id), place, ADDRESS_TTL_SECONDS)
        except ChannelStoreError as exc:
            logger.warning("Cannot remember where conversation %s is: %s", conversation_id, exc)

    def _in_background(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("Handling a Slack message failed", exc_info=task.exception())


def _problem(rejection: Rejection) -> HTTPResponse:
    return response.json(rejection.as_json(), status=rejection.status)

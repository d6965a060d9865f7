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
* **checks the text** like the other channels (control characters removed; a message
  over 2,000 characters is answered with a request to shorten it and not run).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from frontline.channels.guard import check_message_text, clean_text
from frontline.channels.messages import speaker
from frontline.channels.store import ChannelStore, MemoryChannelStore, create_from_settings
from frontline.errors import ChannelStoreError
from frontline.settings import get_settings

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
#: How long a delivery is remembered: Slack retries within minutes, the
#: signature's replay window is 5 minutes.
DELIVERY_TTL_SECONDS = 3600.0
#: How long the place of a conversation is remembered for replies from an agent.
ADDRESS_TTL_SECONDS = 30 * 24 * 3600.0
NO_RETRY_HEADERS = {"X-Slack-No-Retry": "1"}


def event_delivery_key(envelope: Mapping[str, Any]) -> str | None:
    """Identifies the message an Events API request is about.

    The Slack message itself (workspace, channel and ``ts``) rather than the event id:
    a message that mentions the bot arrives as a ``message`` and an ``app_mention``
    event with different event ids, but it is one message.
    """
    event = envelope.get("event")
    event = event if isinstance(event, Mapping) else {}
    team = envelope.get("team_id") or event.get("team") or ""
    channel, ts = event.get("channel"), event.get("ts")
    if channel and ts:
        return f"slack:message:{team}:{channel}:{ts}"
    event_id = envelope.get("event_id")
    return f"slack:event:{event_id}" if event_id else None


def action_delivery_key(payload: Mapping[str, Any]) -> str | None:
    """Identifies one click on an interactive component (a button)."""
    actions = payload.get("actions") or []
    action = actions[0] if actions and isinstance(actions[0], Mapping) else {}
    team = (payload.get("team") or {}).get("id") or ""
    user = (payload.get("user") or {}).get("id") or ""
    action_ts = action.get("action_ts")
    if user and action_ts:
        return f"slack:action:{team}:{user}:{action_ts}"
    trigger = payload.get("trigger_id")
    return f"slack:trigger:{trigger}" if trigger else None


def delivery_key(request: Request) -> str | None:
    """The delivery key of a (signature-checked) Slack request, None if it has none."""
    content_type = request.headers.get("content-type")
    if content_type == "application/json":
        body = request.json
        return event_delivery_key(body) if isinstance(body, Mapping) else None
    if content_type == "application/x-www-form-urlencoded":
        try:
            payload = json.loads(request.form["payload"][0])
        except (KeyError, IndexError, TypeError, ValueError):
            return None
        return action_delivery_key(payload) if isinstance(payload, Mapping) else None
    return None


def _address_key(conversation_id: str) -> str:
    return f"slack:address:{conversation_id}"


class SlackOutput(SlackBot):
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
        # Channel and thread granularity put them in the id: user_channel[_thread].
        parts = conversation_id.split("_")
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
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def name(cls) -> str:
        return "slack"

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
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def authenticate(request: Request) -> HTTPResponse | None:
            if request.method != "POST":
                return None
            if not self.is_request_from_slack_authentic(request):
                logger.warning(
                    "Refused a Slack request with a bad signature or a timestamp outside "
                    "the 5-minute window (from %s)",
                    request.ip,
                )
                return response.text(
                    "Message is not properly signed with a valid X-Slack-Signature header",
                    status=400,
                )
            if request.headers.get("content-type") == "application/json":
                body = request.json
                if isinstance(body, Mapping) and body.get("type") == "url_verification":
                    # Slack expects the challenge back as text or {"challenge": ...}.
                    return response.json({"challenge": body.get("challenge")})
            return None

        return webhook

    async def process_message(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        sender_id: str | None,
        metadata: dict[str, Any] | None,
    ) -> Any:
        """Runs a Slack message unless this delivery was already run (see module)."""
        retry = request.headers.get(self.retry_num_header)
        reason = request.headers.get(self.retry_reason_header)
        key = delivery_key(request)
        if key is None and retry:
            logger.warning("Dropped Slack retry #%s (%s) that names no message", retry, reason)
            return response.text("", headers=NO_RETRY_HEADERS)
        if key is not None and not await self._first_delivery(key):
            logger.info("Ignored Slack retry #%s (%s) of %s: already run", retry, reason, key)
            return response.text("", headers=NO_RETRY_HEADERS)

        metadata = metadata or {}
        out_channel = metadata.get("out_channel")
        thread_id = metadata.get("thread_id") if self.use_threads else None
        output = self.get_output_channel(out_channel, thread_id)
        rejection = check_message_text(text)
        if rejection is not None:
            logger.info("Refused a Slack message from %s: %s", sender_id, rejection.error)
            self._in_background(output.send_text_message(sender_id or "", rejection.message))
            return response.text("")
        if sender_id and out_channel:
            await self._remember_place(sender_id, out_channel, thread_id)
        message = UserMessage(
            clean_text(text), output, sender_id, input_channel=self.name(), metadata=metadata
        )
        # Slack wants an answer within 3 seconds: the message runs after we answer.
        self._in_background(on_new_message(message))
        return response.text("")

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

"""What the channels let through to Rasa, per conversation and per client.

The limits are policy (``policies/limits.yml``, :class:`LimitsPolicy`): the ceilings of
one request, token buckets per conversation, per client and for new conversations per
client, and a cap on handoffs of unverified conversations per client. A client is an
IP address on REST and the web chat (:func:`client_address`) and a Slack user on Slack.

The handoff cap keeps the human queue from being flooded by anonymous conversations:
after each turn the channel sees which responses went out; a handoff response
(``utter_handoff``) in a conversation whose customer is not verified takes a token from
the client's handoff bucket. Once that is empty, the client cannot start new
conversations until it refills, and is told so with the domain's
``utter_handoff_limit`` (how long, and how else to reach us). Conversations it already
has go on; each holds at most one open handoff (the queue keeps one per conversation).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request

from frontline.channels.guard import InputLimits
from frontline.channels.ratelimit import Bucket, RateLimiter
from frontline.errors import ConfigurationError
from frontline.policy import load_policy
from frontline.settings import Settings

logger = logging.getLogger(__name__)

#: The slot saying the customer proved who they are (set by the verification flow).
VERIFIED_SLOT = "customer_verified"
#: Said when the domain lacks the policy's response (a model trained before it existed).
FALLBACK_LIMIT_TEXT = (
    "We've received several requests for a person from your network in a short time, "
    "so we can't open another conversation right now. Please try again in about "
    "{retry_minutes} minutes, or e-mail support@frontline.example."
)

TextLookup = Callable[[str, Mapping[str, Any]], "str | None"]


@dataclass(frozen=True)
class LimitsPolicy:
    """Typed view of ``policies/limits.yml``."""

    version: str
    input: InputLimits
    conversation: Bucket
    client: Bucket
    new_conversations: Bucket
    unverified_handoffs: Bucket
    limit_response: str
    handoff_responses: frozenset[str]

    @classmethod
    def from_rules(cls, version: str, rules: Mapping[str, Any]) -> LimitsPolicy:
        limits, rates, handoffs = rules["input"], rules["rate_limits"], rules["unverified_handoffs"]
        per_client = float(handoffs["per_client"])
        return cls(
            version=version,
            input=InputLimits(
                max_message_chars=int(limits["max_message_chars"]),
                max_sender_chars=int(limits["max_sender_chars"]),
                max_metadata_bytes=int(limits["max_metadata_bytes"]),
                max_metadata_depth=int(limits["max_metadata_depth"]),
                max_request_bytes=int(limits["max_request_bytes"]),
                max_json_depth=int(limits["max_metadata_depth"]) + 4,
            ),
            conversation=Bucket.per_minute(**rates["conversation"]),
            client=Bucket.per_minute(**rates["client"]),
            new_conversations=Bucket.per_minute(**rates["new_conversations"]),
            unverified_handoffs=Bucket(
                per_client, per_client / (float(handoffs["window_minutes"]) * 60.0)
            ),
            limit_response=str(handoffs["response"]),
            handoff_responses=frozenset(handoffs["handoff_responses"]),
        )


def load_limits(settings: Settings) -> LimitsPolicy:
    """The limits policy: ``settings.limits_policy_file`` or ``<policies_dir>/limits.yml``.

    Raises:
        ConfigurationError: The file is missing or breaks its schema.
    """
    path = settings.limits_policy_file
    if path is None:
        module = load_policy("limits", settings.policies_dir)
        return LimitsPolicy.from_rules(module.version, module.rules)
    schema_path = settings.policies_dir / "schemas" / "limits.schema.json"
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        jsonschema.validate(document, schema)
    except (OSError, yaml.YAMLError, ValueError, jsonschema.ValidationError) as exc:
        raise ConfigurationError(f"cannot use the limits policy {path}: {exc}") from exc
    return LimitsPolicy.from_rules(document["version"], document["rules"])


@dataclass(frozen=True)
class Refusal:
    """A message the limits keep from Rasa: 429, a code, a sentence, when to retry."""

    error: str
    message: str
    retry_after: float
    status: int = 429

    def as_json(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message, "retry_after": self.retry_seconds}

    @property
    def retry_seconds(self) -> int:
        return max(int(math.ceil(self.retry_after)), 1)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_seconds)}


def client_address(ip: str | None, forwarded_for: str | None, trusted_hops: int) -> str:
    """The client of a request: ``trusted_hops`` entries from the right of
    ``X-Forwarded-For`` (the proxies we run append there), else the peer address."""
    if trusted_hops > 0 and forwarded_for:
        hops = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if len(hops) >= trusted_hops:
            return hops[-trusted_hops][:64]
    return ip or "unknown"


class Admission:
    """The rate limits and the handoff cap, applied by every channel.

    Args:
        policy: The limits.
        limiter: Where the buckets live.
        texts: Looks up a domain response's text, placeholders filled (None if absent).
    """

    def __init__(
        self, policy: LimitsPolicy, limiter: RateLimiter, texts: TextLookup | None = None
    ) -> None:
        self.policy = policy
        self.limiter = limiter
        self.texts = texts

    async def check_client(self, client: str) -> Refusal | None:
        """Every request of a client takes a token of its bucket."""
        decision = await self.limiter.take(f"client:{client}", self.policy.client)
        if decision.allowed:
            return None
        return Refusal(
            "rate_limited",
            "You're sending messages faster than we can read them; please wait a moment.",
            decision.retry_after,
        )

    async def check_conversation(
        self, client: str, conversation_id: str, *, new: bool
    ) -> Refusal | None:
        """A message of a conversation the caller may write to (checked before this)."""
        decision = await self.limiter.take(
            f"conversation:{conversation_id}", self.policy.conversation
        )
        if not decision.allowed:
            return Refusal(
                "rate_limited",
                "You're sending messages faster than we can read them; please wait a moment.",
                decision.retry_after,
            )
        if not new:
            return None
        handoffs = await self.limiter.peek(f"handoffs:{client}", self.policy.unverified_handoffs)
        if not handoffs.allowed:
            logger.warning(
                "Client %s reached the cap of handoffs of unverified conversations", client
            )
            return Refusal(
                "too_many_handoffs", self._limit_text(handoffs.retry_after), handoffs.retry_after
            )
        started = await self.limiter.take(f"new:{client}", self.policy.new_conversations)
        if not started.allowed:
            return Refusal(
                "too_many_conversations",
                "Too many new conversations were started from your network just now; "
                "please continue the one you have, or try again in a few minutes.",
                started.retry_after,
            )
        return None

    async def record_turn(
        self,
        client: str,
        responses: Iterable[str],
        verified: Callable[[], Awaitable[bool]],
    ) -> None:
        """Counts a handoff of an unverified conversation against the client's cap."""
        if not self.policy.handoff_responses.intersection(responses):
            return
        if await verified():
            return
        await self.limiter.take(f"handoffs:{client}", self.policy.unverified_handoffs, force=True)

    def _limit_text(self, retry_after: float) -> str:
        values = {"retry_minutes": max(int(math.ceil(retry_after / 60.0)), 1)}
        text = self.texts(self.policy.limit_response, values) if self.texts else None
        if text is None:
            logger.error(
                "The domain has no %s: using the built-in sentence", self.policy.limit_response
            )
            text = FALLBACK_LIMIT_TEXT.format(**values)
        return text


# -- what the channels need from the running Rasa server ---------------------------------


async def receive_body_within(request: Request, max_bytes: int) -> bool:
    """Reads a streamed request's body up to ``max_bytes``; False when it is larger."""
    if request.stream is not None:  # set for every request read from a socket
        request.stream.request_max_size = max_bytes
    try:
        await request.receive_body()
    except PayloadTooLarge:
        return False
    return True


def domain_texts(app: Any, channel: str) -> TextLookup:
    """Looks responses up in the domain of the model ``app`` serves (Rasa's ``agent``)."""

    def lookup(name: str, values: Mapping[str, Any]) -> str | None:
        agent = getattr(getattr(app, "ctx", None), "agent", None)
        domain = getattr(agent, "domain", None)
        variations = (getattr(domain, "responses", None) or {}).get(name) or []
        texts = [
            v["text"]
            for v in variations
            if isinstance(v, Mapping) and v.get("text") and v.get("channel") in (None, channel)
        ]
        if not texts:
            return None
        text = str(texts[0])
        for key, value in values.items():
            text = text.replace("{" + key + "}", str(value))
        return text

    return lookup


async def conversation_verified(app: Any, conversation_id: str) -> bool:
    """Whether the customer of the conversation is verified (its tracker's slot).

    Runs only after a handoff, so reading the tracker costs nothing on ordinary turns.
    """
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return False
    try:
        tracker = await store.retrieve(conversation_id)
    except Exception:  # noqa: BLE001 - the turn is over; an unreadable tracker counts as unverified
        logger.warning("Could not read conversation %s to count its handoff", conversation_id)
        return False
    return bool(tracker is not None and tracker.get_slot(VERIFIED_SLOT))


class RecordsResponses:
    """Output channel mixin remembering the names of the responses sent (``utter_action``)."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        name = message.get("utter_action")
        if isinstance(name, str):
            self.responses_sent.append(name)
        await super().send_response(recipient_id, message)  # type: ignore[misc]

    @property
    def responses_sent(self) -> list[str]:
        sent: list[str] | None = self.__dict__.get("_responses_sent")
        if sent is None:
            sent = self.__dict__["_responses_sent"] = []
        return sent

"""Conversation ids: one namespace per channel, and a form that survives a URL.

Inside Rasa (tracker store, lock store, handoff queue, audit trail) a conversation is
``<channel>:<id on the channel>``: ``rest:jane-42``, ``socketio:3f2a…``,
``slack:U0JANE_D0JANE``. The channel writes the prefix itself, so no client can name
a conversation of another channel: a REST caller who sends a Slack conversation's id
as its ``sender`` gets ``rest:U0JANE_D0JANE``, a conversation of its own.

The id on the channel is percent-encoded (UTF-8, every byte outside ``A-Z a-z 0-9 - .
_ ~``), so the whole id is made of URL-safe characters only. Rasa's HTTP API takes a
conversation id from the URL path without decoding it (Sanic 21.12), which is why the
agent desk used to write to a phantom conversation for ids with a space, ``+``, ``/``,
``?``, ``#``, ``%``, ``\\`` or non-ASCII characters: the desk encoded them, Rasa kept the
encoded form. With ids that need no encoding, :func:`path_segment` sends them as they
are and Rasa sees exactly the stored id.

Conversations stored before namespaces (``jane-42``, ``U0JANE_D0JANE``, a 32-digit web
chat session) keep their ids; :func:`split` reports no channel for them, and the desk
keeps addressing them as before.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import quote, unquote

#: The channels that namespace their conversations (their Rasa channel names).
CHANNELS = ("rest", "socketio", "slack")
#: ``output_channel`` asking Rasa for the channel the customer wrote from last.
LATEST = "latest"

# Unreserved characters, the namespace's colon and upper-case percent escapes: what
# the channels produce and what passes through aiohttp/yarl and Sanic unchanged.
_URL_SAFE_RE = re.compile(r"^(?:[A-Za-z0-9._~:-]|%[0-9A-F]{2})+$")


class ConversationRef(NamedTuple):
    """A conversation id taken apart: its channel (None before namespaces) and the id
    the channel knows it by (what the customer's client sent, or the Slack user and
    channel)."""

    channel: str | None
    channel_id: str


def conversation_id(channel: str, channel_id: str) -> str:
    """The Rasa conversation id of ``channel_id`` on ``channel``.

    Raises:
        ValueError: Unknown channel, or an empty id.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if not channel_id:
        raise ValueError("a conversation needs a non-empty id")
    return f"{channel}:{quote(channel_id, safe='', encoding='utf-8', errors='strict')}"


def split(conversation_id: str) -> ConversationRef:
    """The channel and the channel's own id of a Rasa conversation id.

    Ids without a known namespace (stored before namespaces existed) come back whole,
    with no channel.
    """
    channel, sep, rest = conversation_id.partition(":")
    if sep and channel in CHANNELS and rest and _URL_SAFE_RE.match(rest):
        return ConversationRef(channel, unquote(rest, errors="replace"))
    return ConversationRef(None, conversation_id)


def is_url_safe(conversation_id: str) -> bool:
    """True when the id goes into a URL path as it is (every namespaced id does)."""
    return bool(_URL_SAFE_RE.match(conversation_id))


def path_segment(conversation_id: str) -> str:
    """The conversation id as a segment of a Rasa HTTP API path.

    Namespaced ids (and older ids of plain characters) go as they are, so Rasa reads
    back exactly the stored id. Any other older id is percent-encoded so the URL stays
    valid; Rasa then sees the encoded form, as it always did for such ids.

    Raises:
        ValueError: The id is empty.
    """
    if not conversation_id:
        raise ValueError("conversation_id must not be empty")
    if is_url_safe(conversation_id):
        return conversation_id
    return quote(conversation_id, safe="", errors="surrogatepass")


def output_channel(conversation_id: str) -> str:
    """The channel replies to this conversation go out on.

    The namespace says which channel received the conversation's messages; only a
    conversation stored before namespaces falls back to Rasa's ``latest`` input channel.
    """
    return split(conversation_id).channel or LATEST

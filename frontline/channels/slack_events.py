"""What a (signature-checked) Slack request says, read without trusting its shape.

Slack sends Events API envelopes as JSON and clicks on interactive components as a
form with a JSON ``payload``. Rasa's Slack channel indexes into both as if every
field were there with the right type, so a body of an unexpected shape answered 500.
:func:`read_slack_request` reads either into a :class:`SlackInbound` (a message to
run, a URL-verification challenge, or something to acknowledge and ignore) or a
:class:`~frontline.channels.guard.Rejection`, with the same JSON limits as every
channel. Pure functions: tested without a server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from frontline.channels.guard import (
    DEFAULT_LIMITS,
    InputLimits,
    Rejection,
    has_lone_surrogate,
    loads_bounded,
    parse_json,
)

#: Slack's ids (users, channels, teams, bots): upper-case letters and digits.
SLACK_ID_RE = re.compile(r"^[A-Z0-9]{1,40}$")
#: Message timestamps: seconds and microseconds.
SLACK_TS_RE = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,10})?$")
MAX_FIELD_CHARS = 256

#: Interactive components whose value becomes a message (as in Rasa's channel).
_ACTION_VALUES = {
    "button": ("value",),
    "select": ("selected_options", 0, "value"),
    "static_select": ("selected_option", "value"),
    "external_select": ("selected_option", "value"),
    "overflow": ("selected_option", "value"),
    "conversations_select": ("selected_conversation",),
    "users_select": ("selected_user",),
    "channels_select": ("selected_channel",),
    "datepicker": ("selected_date",),
}


@dataclass(frozen=True)
class SlackInbound:
    """One Slack request, read: ``kind`` is ``message``, ``challenge`` or ``ignored``."""

    kind: str
    text: str = ""
    user: str = ""
    team: str = ""
    channel: str | None = None
    thread_id: str | None = None
    #: The app's own user ids, removed from the text where the message mentions them.
    app_users: tuple[str, ...] = field(default_factory=tuple)
    delivery_key: str | None = None
    challenge: str = ""
    note: str = ""


def _bad(what: str) -> Rejection:
    return Rejection(400, "invalid_slack_request", f"The Slack request's {what} is not usable.")


def _text_field(value: Any, pattern: re.Pattern[str] | None = None) -> str | None:
    """A short string field (matching ``pattern``), None if absent; raises on a bad one."""
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or len(value) > MAX_FIELD_CHARS
        or has_lone_surrogate(value)
        or (pattern is not None and not pattern.match(value))
    ):
        raise ValueError(value)
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(value)
    return value


def _dig(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        else:
            value = value.get(step) if isinstance(value, Mapping) else None
    return value


def read_event(envelope: Any, slack_channel: str | None) -> SlackInbound | Rejection:
    """Reads an Events API envelope (JSON)."""
    if not isinstance(envelope, Mapping):
        return _bad("body")
    if envelope.get("type") == "url_verification" or "challenge" in envelope:
        challenge = envelope.get("challenge")
        if not isinstance(challenge, str) or len(challenge) > MAX_FIELD_CHARS:
            return _bad("challenge")
        return SlackInbound("challenge", challenge=challenge)
    try:
        event = _mapping(envelope.get("event"))
        kind = _text_field(event.get("type"))
        team = _text_field(envelope.get("team_id") or event.get("team"), SLACK_ID_RE) or ""
        user = _text_field(event.get("user"), SLACK_ID_RE)
        channel = _text_field(event.get("channel"), SLACK_ID_RE)
        ts = _text_field(event.get("ts"), SLACK_TS_RE)
        thread_ts = _text_field(event.get("thread_ts"), SLACK_TS_RE)
        channel_type = _text_field(event.get("channel_type"))
        event_id = _text_field(envelope.get("event_id"))
        text = event.get("text")
        app_users = _app_users(envelope)
    except ValueError:
        return _bad("event")
    if kind not in ("message", "app_mention") or event.get("bot_id") or not text:
        return SlackInbound("ignored", note="not a message from a person")
    if not isinstance(text, str):
        return _bad("text")
    if not user or not channel:
        return _bad("sender")
    if not (channel_type == "im" or kind == "app_mention" or channel == slack_channel):
        return SlackInbound("ignored", note=f"message in channel {channel}, not for the bot")
    if channel and ts:
        key: str | None = f"slack:message:{team}:{channel}:{ts}"
    else:
        key = f"slack:event:{event_id}" if event_id else None
    return SlackInbound(
        "message",
        text=text,
        user=user,
        team=team,
        channel=channel,
        thread_id=thread_ts or ts,
        app_users=app_users,
        delivery_key=key,
    )


def _app_users(envelope: Mapping[str, Any]) -> tuple[str, ...]:
    authed = envelope.get("authed_users")
    if authed is not None:
        if not isinstance(authed, list) or len(authed) > 50:
            raise ValueError(authed)
        return tuple(_text_field(user, SLACK_ID_RE) or "" for user in authed if user)
    authorizations = envelope.get("authorizations")
    if isinstance(authorizations, list) and authorizations:
        first = _mapping(authorizations[0])
        user = _text_field(first.get("user_id"), SLACK_ID_RE)
        return (user,) if user else ()
    return ()


def read_interaction(payload: Any) -> SlackInbound | Rejection:
    """Reads an interactive component's ``payload`` (a click on a button, a choice)."""
    if not isinstance(payload, Mapping):
        return _bad("payload")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        return SlackInbound("ignored", note="no action")
    action = actions[0]
    path = _ACTION_VALUES.get(action.get("type"))  # type: ignore[arg-type]
    if path is None:
        return SlackInbound("ignored", note="an interactive component we do not read")
    value = _dig(action, path)
    try:
        user = _text_field(_dig(payload, ("user", "id")), SLACK_ID_RE)
        team = _text_field(_dig(payload, ("team", "id")), SLACK_ID_RE) or ""
        channel = _text_field(_dig(payload, ("channel", "id")), SLACK_ID_RE)
        message = _mapping(payload.get("message"))
        thread = _text_field(message.get("thread_ts"), SLACK_TS_RE) or _text_field(
            message.get("ts"), SLACK_TS_RE
        )
        action_ts = _text_field(action.get("action_ts"), SLACK_TS_RE)
        trigger = _text_field(payload.get("trigger_id"))
    except ValueError:
        return _bad("payload")
    if value is None:
        return SlackInbound("ignored", note="a link button")
    if not isinstance(value, str) or not user:
        return _bad("action")
    if action_ts:
        key: str | None = f"slack:action:{team}:{user}:{action_ts}"
    else:
        key = f"slack:trigger:{trigger}" if trigger else None
    return SlackInbound(
        "message",
        text=value,
        user=user,
        team=team,
        channel=channel,
        thread_id=thread,
        delivery_key=key,
    )


def read_slack_request(
    content_type: str | None,
    body: bytes,
    slack_channel: str | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> SlackInbound | Rejection:
    """Reads a Slack request body by its content type (see module)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/json":
        envelope = parse_json(body, limits)
        if isinstance(envelope, Rejection):
            return envelope
        return read_event(envelope, slack_channel)
    if kind == "application/x-www-form-urlencoded":
        if len(body) > limits.max_request_bytes:
            return Rejection(413, "request_too_large", "The Slack request is too large.")
        try:
            form = parse_qs(
                body.decode("utf-8"), strict_parsing=False, max_num_fields=20, errors="strict"
            )
            payload = loads_bounded(form["payload"][0], limits.max_json_depth)
        except (UnicodeDecodeError, ValueError, KeyError, IndexError):
            return _bad("payload")
        return read_interaction(payload)
    return Rejection(415, "unsupported_media_type", "Slack requests are JSON or a form.")

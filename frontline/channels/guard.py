"""Checks a channel applies to what customers send before Rasa sees any of it.

Pure functions, so the rules are tested without a server. Whatever arrives (bytes that
are not UTF-8, JSON nested thousands deep, lone surrogates, NUL bytes, the wrong types,
huge metadata) gets a :class:`Rejection`: an HTTP status, a stable error code and a
sentence for people. Nothing here raises on input, and JSON is never handed to
Python's recursive decoder before its depth is known to be small.

Why each check exists:

* **encoding**: a lone surrogate (JSON ``"\\ud800"``) is a valid Python string that no
  database, log or UTF-8 encoder accepts; in a ``sender`` it made Rasa's SQL tracker
  store raise and the Rasa server exit. Every string of a request is checked.
* **control characters**: NUL and other C0/C1 controls mean nothing in a sender id or a
  metadata key, and PostgreSQL refuses NUL in text. Message text keeps line breaks
  and tabs; other control characters are removed (:func:`clean_text`), and a message
  made mostly of them is treated as binary data.
* **size and depth**: the request, the message, the sender and the metadata each have
  a ceiling (``policies/limits.yml``), so one request cannot grow a conversation's
  tracker by megabytes or exhaust the decoder's recursion.
"""

from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass
from typing import Any, cast

MAX_CONTROL_SHARE = 0.1  # share of control characters above which text is binary data
MAX_METADATA_KEY_CHARS = 64
MAX_SESSION_TOKEN_CHARS = 1024


@dataclass(frozen=True)
class InputLimits:
    """Ceilings on one request (the ``input`` section of ``policies/limits.yml``)."""

    max_message_chars: int = 2000
    max_sender_chars: int = 128
    max_metadata_bytes: int = 4096
    max_metadata_depth: int = 4
    max_request_bytes: int = 65536
    #: Nesting of a whole request body (the metadata's own depth plus the envelope).
    max_json_depth: int = 16


DEFAULT_LIMITS = InputLimits()


@dataclass(frozen=True)
class Rejection:
    """Why a request is refused: HTTP status, error code and a sentence for people."""

    status: int
    error: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"error": self.error, "message": self.message}


@dataclass(frozen=True)
class RestMessage:
    """A REST request that passed every check."""

    sender: str
    text: str
    metadata: dict[str, Any]
    session_token: str | None


def _invalid_encoding(what: str) -> Rejection:
    return Rejection(400, "invalid_encoding", f"{what} holds characters that are not valid text.")


# -- JSON ---------------------------------------------------------------------------------


def json_depth_exceeds(text: str | bytes, max_depth: int) -> bool:
    """True when arrays/objects in ``text`` nest deeper than ``max_depth``.

    A scan of the raw text (brackets inside strings do not count), so nothing deep is
    ever built. Malformed text may pass; the decoder refuses it afterwards.
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > max_depth:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_bounded(text: str | bytes, max_depth: int) -> Any:
    """``json.loads`` that refuses what would blow up the decoder.

    Raises:
        ValueError: Not JSON (also NaN/Infinity), or nested deeper than ``max_depth``.
    """
    if json_depth_exceeds(text, max_depth):
        raise ValueError(f"JSON nested deeper than {max_depth}")
    try:
        return json.loads(text, parse_constant=_no_constants)
    except RecursionError as exc:  # unreachable after the scan; kept as a last fence
        raise ValueError("JSON nested too deep") from exc


def parse_json(body: bytes, limits: InputLimits = DEFAULT_LIMITS) -> Any | Rejection:
    """A request body as JSON, or the reason it is not usable."""
    if len(body) > limits.max_request_bytes:
        return Rejection(
            413,
            "request_too_large",
            f"The request is larger than {limits.max_request_bytes:,} bytes.",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Rejection(400, "invalid_encoding", "The request body must be UTF-8 JSON.")
    if json_depth_exceeds(text, limits.max_json_depth):
        return Rejection(400, "too_deep", "The request's JSON is nested too deeply.")
    try:
        return json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return Rejection(400, "invalid_json", "The request body is not valid JSON.")


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (what a tracker event stores)."""
    encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return len(encoded.encode("utf-8", "surrogatepass"))


# -- strings ------------------------------------------------------------------------------


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` cannot be encoded as UTF-8 (it holds a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co") and char not in "\n\t"


def _has_hard_control(text: str) -> bool:
    """C0/C1 control characters (NUL included) or private/surrogate code points."""
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def clean_text(text: str) -> str:
    """Removes control characters (keeping newlines and tabs) and trims whitespace."""
    return "".join(c for c in text if not _is_control(c)).strip()


def check_message_text(text: Any, limits: InputLimits = DEFAULT_LIMITS) -> Rejection | None:
    """Refuses a message that is not text, is not valid Unicode, looks binary or is too long."""
    if not isinstance(text, str) or not text.strip():
        return Rejection(400, "invalid_message", "The request needs a non-empty 'message' string.")
    if len(text) > limits.max_message_chars:
        return Rejection(
            413,
            "message_too_long",
            f"Messages can be at most {limits.max_message_chars:,} characters; please shorten it.",
        )
    if has_lone_surrogate(text):
        return _invalid_encoding("The message")
    # "/intent{...}" (what buttons send) has its JSON parsed by Rasa's recursive decoder.
    if text.lstrip().startswith("/") and json_depth_exceeds(text, limits.max_json_depth):
        return Rejection(400, "invalid_message", "The message's entities are nested too deeply.")
    if sum(_is_control(c) for c in text) > MAX_CONTROL_SHARE * len(text):
        return Rejection(400, "binary_message", "The message looks like binary data, not text.")
    if not clean_text(text):
        return Rejection(400, "invalid_message", "The request needs a non-empty 'message' string.")
    return None


def check_sender(sender: Any, limits: InputLimits = DEFAULT_LIMITS) -> Rejection | None:
    """Refuses a sender id that is not a short, printable string."""
    if not isinstance(sender, str) or not sender.strip() or len(sender) > limits.max_sender_chars:
        return Rejection(
            400,
            "invalid_sender",
            f"'sender' must be a string of 1 to {limits.max_sender_chars} characters.",
        )
    if has_lone_surrogate(sender):
        return _invalid_encoding("'sender'")
    if _has_hard_control(sender):
        return Rejection(400, "invalid_sender", "'sender' may not hold control characters.")
    return None


def _metadata_problem(value: Any, depth: int, limits: InputLimits) -> Rejection | None:
    if isinstance(value, str):
        if has_lone_surrogate(value):
            return _invalid_encoding("'metadata'")
        if "\x00" in value:
            return Rejection(400, "invalid_metadata", "'metadata' may not hold NUL characters.")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return Rejection(400, "invalid_metadata", "'metadata' holds a number JSON cannot carry.")
    if not isinstance(value, (dict, list)):
        return None
    if depth >= limits.max_metadata_depth:
        return Rejection(
            400,
            "invalid_metadata",
            f"'metadata' may nest at most {limits.max_metadata_depth} levels deep.",
        )
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and has_lone_surrogate(key):
                return _invalid_encoding("'metadata'")
            if (
                not isinstance(key, str)
                or not key
                or len(key) > MAX_METADATA_KEY_CHARS
                or _has_hard_control(key)
            ):
                return Rejection(
                    400,
                    "invalid_metadata",
                    f"'metadata' keys must be printable strings of 1 to "
                    f"{MAX_METADATA_KEY_CHARS} characters.",
                )
            problem = _metadata_problem(item, depth + 1, limits)
            if problem is not None:
                return problem
        return None
    for item in value:
        problem = _metadata_problem(item, depth + 1, limits)
        if problem is not None:
            return problem
    return None


def check_metadata(metadata: Any, limits: InputLimits = DEFAULT_LIMITS) -> Rejection | None:
    """Refuses metadata that is not a small JSON object of valid text (None is fine)."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        return Rejection(400, "invalid_metadata", "'metadata' must be a JSON object.")
    problem = _metadata_problem(metadata, 0, limits)
    if problem is not None:
        return problem
    if json_size(metadata) > limits.max_metadata_bytes:
        return Rejection(
            413,
            "metadata_too_large",
            f"'metadata' can be at most {limits.max_metadata_bytes:,} bytes of JSON.",
        )
    return None


def check_session_token(token: Any) -> Rejection | None:
    """A session token, if given, is a short printable string."""
    if token is None:
        return None
    if (
        not isinstance(token, str)
        or len(token) > MAX_SESSION_TOKEN_CHARS
        or has_lone_surrogate(token)
        or _has_hard_control(token)
    ):
        return Rejection(400, "invalid_session_token", "'session_token' must be a short string.")
    return None


# -- whole requests ----------------------------------------------------------------------


def check_rest_body(body: bytes, limits: InputLimits = DEFAULT_LIMITS) -> RestMessage | Rejection:
    """Validates a REST request body: ``{"sender", "message", "metadata"?, "session_token"?}``.

    ``input_channel``, which Rasa's REST channel let callers set, is ignored: the
    channel a message came in on is the one that received it.
    """
    payload = parse_json(body, limits)
    if isinstance(payload, Rejection):
        return payload
    if not isinstance(payload, dict):
        return Rejection(400, "invalid_json", "The request body must be a JSON object.")
    sender, text = payload.get("sender"), payload.get("message")
    metadata, token = payload.get("metadata"), payload.get("session_token")
    rejection = (
        check_sender(sender, limits)
        or check_message_text(text, limits)
        or check_metadata(metadata, limits)
        or check_session_token(token)
    )
    if rejection is not None:
        return rejection
    # The checks above refused anything but strings.
    return RestMessage(cast(str, sender), clean_text(cast(str, text)), dict(metadata or {}), token)

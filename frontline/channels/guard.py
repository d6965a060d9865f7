"""Checks a channel applies to what customers send before the NLU sees it.

Pure functions, so the rules are tested without a server: malformed JSON, missing
fields, binary content and oversized messages get a clear, specific answer.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_CHARS = 2000
MAX_SENDER_CHARS = 128
# Share of control characters above which a message is treated as binary data.
MAX_CONTROL_SHARE = 0.1


@dataclass(frozen=True)
class Rejection:
    """Why a request is refused: HTTP status, error code and a sentence for people."""

    status: int
    error: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"error": self.error, "message": self.message}


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co") and char not in "\n\t"


def clean_text(text: str) -> str:
    """Removes control characters (keeping newlines and tabs) and trims whitespace."""
    return "".join(c for c in text if not _is_control(c)).strip()


def check_message_text(text: Any) -> Rejection | None:
    """Refuses a message that is not text, looks binary or is too long."""
    if not isinstance(text, str) or not text.strip():
        return Rejection(400, "invalid_message", "The request needs a non-empty 'message' string.")
    if sum(_is_control(c) for c in text) > MAX_CONTROL_SHARE * len(text):
        return Rejection(400, "binary_message", "The message looks like binary data, not text.")
    if len(text) > MAX_MESSAGE_CHARS:
        return Rejection(
            413,
            "message_too_long",
            f"Messages can be at most {MAX_MESSAGE_CHARS:,} characters; please shorten it.",
        )
    return None


def check_rest_body(body: bytes) -> Rejection | None:
    """Validates a REST channel request body: ``{"sender": str, "message": str}``."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return Rejection(400, "invalid_encoding", "The request body must be UTF-8 JSON.")
    except json.JSONDecodeError:
        return Rejection(400, "invalid_json", "The request body is not valid JSON.")
    if not isinstance(payload, dict):
        return Rejection(400, "invalid_json", "The request body must be a JSON object.")
    sender = payload.get("sender")
    if not isinstance(sender, str) or not sender or len(sender) > MAX_SENDER_CHARS:
        return Rejection(
            400, "invalid_sender", f"'sender' must be a string of 1 to {MAX_SENDER_CHARS} chars."
        )
    return check_message_text(payload.get("message"))

"""Input checks of the channels: every bad request gets a specific answer."""

from __future__ import annotations

import json

import pytest

from frontline.channels.guard import MAX_MESSAGE_CHARS, check_rest_body, clean_text


def body(**payload) -> bytes:
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    "raw, status, error",
    [
        (b"{not json", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_json"),
        (b"\xff\xfe\x00binary", 400, "invalid_encoding"),
        (body(message="hi"), 400, "invalid_sender"),
        (body(sender="s" * 500, message="hi"), 400, "invalid_sender"),
        (body(sender="a", message=42), 400, "invalid_message"),
        (body(sender="a", message="   "), 400, "invalid_message"),
        (body(sender="a", message="\x00\x01\x02\x03abc"), 400, "binary_message"),
        (body(sender="a", message="x" * (MAX_MESSAGE_CHARS + 1)), 413, "message_too_long"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(raw, status, error):
    rejection = check_rest_body(raw)
    assert rejection is not None
    assert (rejection.status, rejection.error) == (status, error)
    assert rejection.message


def test_a_normal_message_passes():
    assert check_rest_body(body(sender="a", message="where is my order?")) is None


def test_clean_text_drops_control_characters_but_keeps_newlines():
    assert clean_text(" hi\x00 there\nyou\u200b ") == "hi there\nyou"

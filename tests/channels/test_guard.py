"""Input checks of the channels: every bad request gets a specific answer, none raises.

The property-based tests (hypothesis) throw arbitrary bytes, arbitrary JSON and
arbitrary strings at the checks: whatever comes in, the answer is a
:class:`Rejection` (4xx) or a message whose every string a database can store.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontline.channels.guard import (
    DEFAULT_LIMITS,
    Rejection,
    RestMessage,
    check_metadata,
    check_rest_body,
    clean_text,
    json_depth_exceeds,
    loads_bounded,
    parse_json,
)

MAX_MESSAGE_CHARS = DEFAULT_LIMITS.max_message_chars


def body(**payload) -> bytes:
    return json.dumps(payload).encode()


def nested(depth: int) -> bytes:
    return (
        b'{"sender": "a", "message": "hi", "metadata": {"x": ' + b"[" * depth + b"]" * depth + b"}}"
    )


BAD_REQUESTS = [
    (b"{not json", 400, "invalid_json"),
    (b"[1, 2]", 400, "invalid_json"),
    (b"\xff\xfe\x00binary", 400, "invalid_encoding"),
    (b'{"sender": "a", "message": NaN}', 400, "invalid_json"),
    (b"[" * 1000 + b"]" * 1000, 400, "too_deep"),
    (nested(1000), 400, "too_deep"),
    (nested(30_000), 400, "too_deep"),
    (nested(100_000), 413, "request_too_large"),
    (b" " * (DEFAULT_LIMITS.max_request_bytes + 1), 413, "request_too_large"),
    (body(message="hi"), 400, "invalid_sender"),
    (body(sender="s" * 500, message="hi"), 400, "invalid_sender"),
    (body(sender="", message="hi"), 400, "invalid_sender"),
    (body(sender=["a"], message="hi"), 400, "invalid_sender"),
    (body(sender="a\x00b", message="hi"), 400, "invalid_sender"),
    (body(sender="line\nbreak", message="hi"), 400, "invalid_sender"),
    (b'{"sender": "\\ud800", "message": "hi"}', 400, "invalid_encoding"),
    (b'{"sender": "a\\udfff", "message": "hi"}', 400, "invalid_encoding"),
    (b'{"sender": "a", "message": "hi \\ud83d"}', 400, "invalid_encoding"),
    (body(sender="a", message=42), 400, "invalid_message"),
    (body(sender="a", message="   "), 400, "invalid_message"),
    (body(sender="a", message="\x00\x01\x02\x03abc"), 400, "binary_message"),
    (body(sender="a", message="x" * (MAX_MESSAGE_CHARS + 1)), 413, "message_too_long"),
    (
        body(sender="a", message='/greet{"x": ' + "[" * 900 + "]" * 900 + "}"),
        400,
        "invalid_message",
    ),
    (body(sender="a", message="hi", metadata=[1]), 400, "invalid_metadata"),
    (body(sender="a", message="hi", metadata="x"), 400, "invalid_metadata"),
    (
        body(sender="a", message="hi", metadata={"a": {"b": {"c": {"d": {"e": 1}}}}}),
        400,
        "invalid_metadata",
    ),
    (body(sender="a", message="hi", metadata={"": 1}), 400, "invalid_metadata"),
    (body(sender="a", message="hi", metadata={"k" * 65: 1}), 400, "invalid_metadata"),
    (body(sender="a", message="hi", metadata={"a": "x\x00y"}), 400, "invalid_metadata"),
    (b'{"sender": "a", "message": "hi", "metadata": {"\\ud800": 1}}', 400, "invalid_encoding"),
    (body(sender="a", message="hi", metadata={"a": "x" * 5000}), 413, "metadata_too_large"),
    (body(sender="a", message="hi", session_token=7), 400, "invalid_session_token"),
]


@pytest.mark.parametrize(
    "raw, status, error",
    BAD_REQUESTS,
    ids=[f"{case[2]}-{n}" for n, case in enumerate(BAD_REQUESTS)],
)
def test_bad_requests_are_refused_with_a_reason(raw, status, error):
    rejection = check_rest_body(raw)
    assert isinstance(rejection, Rejection)
    assert (rejection.status, rejection.error) == (status, error)
    assert rejection.message and rejection.as_json() == {
        "error": error,
        "message": rejection.message,
    }


def test_a_normal_message_passes_and_input_channel_is_ignored():
    checked = check_rest_body(
        body(
            sender="jane 42/ü😀",
            message=" where is my order?\x07 ",
            metadata={"page": "/orders", "tags": ["a", 1, None, 2.5]},
            input_channel="slack",
        )
    )
    assert checked == RestMessage(
        "jane 42/ü😀", "where is my order?", {"page": "/orders", "tags": ["a", 1, None, 2.5]}, None
    )


def test_clean_text_drops_control_characters_but_keeps_newlines():
    assert clean_text(" hi\x00 there\nyou\u200b ") == "hi there\nyou"


def test_the_depth_scan_ignores_brackets_inside_strings():
    text = json.dumps({"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "b": '\\"[[[['})
    assert not json_depth_exceeds(text, 2)
    assert json_depth_exceeds("[[[1]]]", 2) and not json_depth_exceeds("[[1],[2]]", 2)
    with pytest.raises(ValueError):
        loads_bounded("[" * 5000 + "]" * 5000, 16)


# -- properties --------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)
# Any Unicode code point, lone surrogates included (JSON can carry them as \\udXXX).
any_text = st.text(alphabet=st.characters(codec=None), max_size=300)


def _storable(value: object) -> bool:
    """Every string in ``value`` encodes as UTF-8 (what databases and logs need)."""
    if isinstance(value, str):
        value.encode("utf-8")  # raises on a lone surrogate
        return "\x00" not in value
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_get_a_rejection_or_a_clean_message(raw):
    result = check_rest_body(raw)
    assert isinstance(result, (Rejection, RestMessage))
    if isinstance(result, Rejection):
        assert 400 <= result.status < 500


@settings(max_examples=300, deadline=None)
@given(sender=json_values | any_text, message=json_values | any_text, metadata=json_values)
def test_any_json_payload_gets_a_rejection_or_a_clean_message(sender, message, metadata):
    raw = json.dumps({"sender": sender, "message": message, "metadata": metadata}).encode()
    result = check_rest_body(raw)
    if isinstance(result, Rejection):
        assert 400 <= result.status < 500 and result.error
        return
    # Whatever passed is text a database takes, within the limits.
    for text in (result.sender, result.text):
        text.encode("utf-8")
        assert "\x00" not in text
    assert 0 < len(result.text) <= MAX_MESSAGE_CHARS
    assert _storable(result.metadata)
    json.dumps(result.metadata, ensure_ascii=False).encode("utf-8")
    assert check_metadata(result.metadata) is None


@settings(max_examples=200, deadline=None)
@given(depth=st.integers(min_value=0, max_value=3000), opener=st.sampled_from([b"[", b'{"a":']))
def test_nesting_never_reaches_the_recursive_decoder(depth, opener):
    closer = b"]" if opener == b"[" else b"}"
    raw = opener * depth + b"1" + closer * depth
    result = parse_json(raw)
    if depth > DEFAULT_LIMITS.max_json_depth:
        assert isinstance(result, Rejection) and result.error == "too_deep"
    else:
        assert not isinstance(result, Rejection)

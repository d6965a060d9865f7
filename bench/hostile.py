"""Hostile inputs for the channels: what an attacker, a broken client and a flaky network send.

Deterministic for a seed. Each generator returns one request for its channel:

* :func:`rest_request`: bodies and headers for ``POST /webhooks/rest/webhook``;
* :func:`socket_packet`: raw socket.io packets (the text after engine.io's ``4``);
* :func:`slack_request`: bodies Slack would never send, to be signed with the app's
  secret (an attacker who has it, or a Slack bug).

Used by ``bench/fuzz.py`` (``make fuzz``) and its short variant in the test suite.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

#: Strings that broke, or could break, something somewhere.
WEIRD_STRINGS = [
    "\ud800",
    "\udfff",
    "hi \ud83d",
    "\x00",
    "a\x00b",
    "\x00" * 64,
    "\x1b[2J\x07",
    "\u202egnirts desrever",
    "\u200b" * 20,
    "\ufeff",
    "😀" * 300,
    "👨‍👩‍👧‍👦",
    "Z̴̡̢̛͍͙̝͈̘̳a̷l̵g̵o̵",
    "𝕳𝖊𝖑𝖑𝖔",
    "' OR 1=1 --",
    "'; DROP TABLE events; --",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "${jndi:ldap://example.invalid/a}",
    "{{7*7}}",
    "%s%s%s%n",
    "../../../../etc/passwd",
    "%00%2e%2e%2f",
    "\r\n\r\nHTTP/1.1 200 OK",
    "\\",
    '"',
    "null",
    "1e999",
    "-0",
    " ",
    "",
    "a" * 2000,
    "a" * 2001,
    "a" * 70_000,
    "/restart",
    "/session_start",
    "/request_human",
    "/nlu_fallback",
    "/action_listen",
    "/affirm",
    '/inform{"email": "jane.doe@example.com"}',
    '/inform{"order_id": [1, {"a": null}]}',
    "/inform{" + "[" * 600 + "]" * 600 + "}",
    '/greet{"x": ' + "[" * 995 + "]" * 995 + "}",
    "/" + "x" * 1999,
    "/greet{not json",
    "rest:someone",
    "slack:U0JANEDOE1_D0JANEDOE1",
    "socketio:" + "0" * 32,
    "where is my order? jane.doe@example.com 94107",
    "cancel order 482914",
    "talk to a person",
]


def weird_string(rng: random.Random) -> str:
    """A weird string, sometimes spliced with random characters."""
    text = rng.choice(WEIRD_STRINGS)
    if rng.random() < 0.3:
        alphabet = string.printable + "äöü€😀\u0301\u200d"
        text += "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
    if rng.random() < 0.1:
        text = "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(1, 30)))
    return text


def header_text(text: str) -> str:
    """What an HTTP client lets through in a header: printable ASCII (no CR/LF)."""
    return "".join(c for c in text if 32 <= ord(c) < 127)[:2000]


def json_value(rng: random.Random, depth: int = 0, max_depth: int = 4) -> Any:
    """A random JSON value (strings from :data:`WEIRD_STRINGS`)."""
    kind = rng.randint(0, 8 if depth < max_depth else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**31, 2**63, 10**300, 1.5, -0.0, 1e308])
    if kind in (3, 4):
        return weird_string(rng)
    if kind in (5, 6):
        return [json_value(rng, depth + 1, max_depth) for _ in range(rng.randint(0, 4))]
    return {
        weird_string(rng)[:70]: json_value(rng, depth + 1, max_depth)
        for _ in range(rng.randint(0, 4))
    }


def dumps(value: Any) -> bytes:
    """JSON bytes; lone surrogates travel as ``\\udXXX`` escapes, as on the wire."""
    return json.dumps(value, ensure_ascii=True).encode("ascii")


def nested(depth: int, rng: random.Random) -> bytes:
    opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
    return opener * depth + b"1" + closer * depth


@dataclass
class HttpRequest:
    """One request to send: body, headers, and a query string."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""
    kind: str = ""


def rest_request(rng: random.Random, tokens: list[tuple[str, str]]) -> HttpRequest:
    """A hostile REST request; ``tokens`` holds (sender, token) pairs seen so far."""
    kind = rng.choice(
        ["well_formed"] * 4
        + ["weird_fields"] * 3
        + ["wrong_types", "raw_bytes", "deep", "huge", "tokens", "headers"]
    )
    sender = f"fuzz-{rng.randint(0, 400)}"
    body: Any = {"sender": sender, "message": weird_string(rng)}
    headers = {"Content-Type": "application/json"}
    if kind == "well_formed":
        body["message"] = rng.choice(WEIRD_STRINGS[-12:] + ["hi", "thanks", "yes", "no"])
        if tokens and rng.random() < 0.7:
            sender, token = rng.choice(tokens)
            body["sender"] = sender
            headers["X-Session-Token"] = token
    elif kind == "weird_fields":
        body = {
            "sender": weird_string(rng)[:200] or "x",
            "message": weird_string(rng),
            "metadata": json_value(rng, max_depth=rng.randint(1, 7)),
        }
        if rng.random() < 0.3:
            body["input_channel"] = rng.choice(["slack", "socketio", "latest", weird_string(rng)])
        if rng.random() < 0.2:
            body["session_token"] = json_value(rng)
    elif kind == "wrong_types":
        body = {key: json_value(rng) for key in ("sender", "message", "metadata")}
        if rng.random() < 0.3:
            body = json_value(rng)
    elif kind == "raw_bytes":
        raw = bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 3000)))
        return HttpRequest(
            raw, {"Content-Type": rng.choice(["application/json", "text/plain"])}, kind=kind
        )
    elif kind == "deep":
        depth = rng.choice([17, 100, 999, 1000, 5000, 30_000])
        raw = b'{"sender": "deep", "message": "hi", "metadata": ' + nested(depth, rng) + b"}"
        return HttpRequest(raw, headers, kind=kind)
    elif kind == "huge":
        size = rng.choice([5_000, 70_000, 2_000_000])
        body["metadata"] = {"blob": "x" * size}
    elif kind == "tokens":
        token = rng.choice(
            [t for _, t in tokens] + ["", "v1.rest:fuzz-1.AAAA", "v1." + "a" * 2000, "\x00"]
            if tokens
            else ["v1.rest:fuzz-1.AAAA"]
        )
        headers["X-Session-Token"] = header_text(token)
    elif kind == "headers":
        headers = rng.choice(
            [
                {"Content-Type": "application/x-www-form-urlencoded"},
                {"Content-Type": "application/json; charset=utf-16"},
                {"X-Forwarded-For": ", ".join(["1.2.3.4"] * rng.randint(1, 50))},
                {"Content-Encoding": "gzip"},
            ]
        )
    query = rng.choice(
        ["", "", "", "?stream=true", "?" + quote(weird_string(rng)[:50], errors="surrogatepass")]
    )
    return HttpRequest(dumps(body), headers, query, kind)


def socket_packet(rng: random.Random, session_token: str | None) -> str:
    """A raw socket.io packet: event packets with hostile data, or garbage."""
    kind = rng.randint(0, 9)
    if kind == 0:
        return "".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(0, 200)))
    if kind == 1:
        return '2["user_uttered",' + nested(rng.choice([20, 1000, 20_000]), rng).decode() + "]"
    if kind == 2:
        return "2" + json.dumps(json_value(rng))
    if kind == 3:
        data = {"session_id": rng.choice([session_token, weird_string(rng), None, 5])}
        return "2" + json.dumps(["session_request", data])
    if kind == 4:
        return "2" + json.dumps([weird_string(rng)[:50], json_value(rng)])
    if kind == 5:
        return "2" + json.dumps(["user_uttered", json_value(rng), json_value(rng)])
    if kind == 6:
        return rng.choice(["0", "1", "3", "4", "5", "6", "2", "0/nope,", "21234567"]) + rng.choice(
            ["", "[]", "{}", "null", '["x"]']
        )
    message = {
        "message": weird_string(rng)[:3000],
        "session_id": rng.choice([session_token, session_token, weird_string(rng)]),
        "metadata": json_value(rng, max_depth=rng.randint(1, 6)),
    }
    return "2" + json.dumps(["user_uttered", message])


SLACK_USER = "U0FUZZER01"
SLACK_DM = "D0FUZZER01"


def slack_request(rng: random.Random, ts: str) -> tuple[bytes, str, tuple[int, str] | None]:
    """A body Slack would not send (to be signed), its content type, and a retry header."""
    retry = (rng.randint(-5, 10), header_text(weird_string(rng))) if rng.random() < 0.1 else None
    kind = rng.randint(0, 7)
    event: dict[str, Any] = {
        "type": "message",
        "user": SLACK_USER,
        "text": weird_string(rng)[:3000],
        "channel": SLACK_DM,
        "channel_type": "im",
        "ts": ts,
    }
    if kind == 0:  # a field of another type or value
        event[rng.choice(list(event))] = json_value(rng)
    elif kind == 1:  # a plausible message with hostile text
        pass
    elif kind == 2:
        return nested(rng.choice([100, 5000]), rng), "application/json", retry
    elif kind == 3:
        envelope = json_value(rng)
        return dumps(envelope), "application/json", retry
    elif kind == 4:
        payload = {
            "type": "block_actions",
            "user": rng.choice([{"id": SLACK_USER}, json_value(rng)]),
            "team": {"id": "T0FUZZ"},
            "channel": {"id": SLACK_DM},
            "actions": rng.choice(
                [
                    [{"type": "button", "value": weird_string(rng)[:500], "action_ts": ts}],
                    [{"type": rng.choice(["static_select", "datepicker", "x"])}],
                    json_value(rng),
                ]
            ),
        }
        body = "payload=" + quote(json.dumps(payload))
        return body.encode(), "application/x-www-form-urlencoded", retry
    elif kind == 5:
        raw = bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 500)))
        return (
            raw,
            rng.choice(["application/json", "application/x-www-form-urlencoded", "text/x"]),
            retry,
        )
    elif kind == 6:
        return (
            dumps({"type": "url_verification", "challenge": json_value(rng)}),
            "application/json",
            retry,
        )
    envelope = {
        "team_id": rng.choice(["T0FUZZ", json_value(rng)]),
        "event_id": f"Ev{rng.randint(0, 10**9)}",
        "event": event,
        "authed_users": rng.choice([[SLACK_USER], json_value(rng), None]),
    }
    return dumps(envelope), "application/json", retry

"""Conversation ids (namespaces, URL-safe forms) and the session tokens bound to them."""

from __future__ import annotations

import asyncio
import os

import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from frontline.channels import ids
from frontline.channels.sessions import SessionSigner, read_secret_file, signer_from_settings
from frontline.connectors.rasa import RasaClient
from frontline.errors import ConfigurationError
from frontline.settings import Settings
from tests.support.ids import AWKWARD_IDS


class RecordingRasa:
    """A stand-in for Rasa's HTTP API that records the raw path of every request."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.paths.append(request.raw_path.split("?")[0])
        return web.json_response({"events": []})


async def _sent_paths(conversation_ids: list[str]) -> list[str]:
    recorder = RecordingRasa()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = RasaClient(f"http://127.0.0.1:{port}", "token", 5.0)
    try:
        for conversation_id in conversation_ids:
            await client.tracker(conversation_id)
            await client.append_events(conversation_id, [{"event": "bot", "text": "hi"}])
    finally:
        await client.close()
        await runner.cleanup()
    return recorder.paths


@pytest.mark.parametrize("customer_id", AWKWARD_IDS.values(), ids=AWKWARD_IDS.keys())
def test_every_id_goes_through_the_url_exactly_as_stored(customer_id):
    conversation_id = ids.conversation_id("rest", customer_id)
    assert ids.split(conversation_id) == ("rest", customer_id)
    assert ids.is_url_safe(conversation_id)
    # What the desk's client really sends: the path Sanic hands Rasa as the id.
    assert asyncio.run(_sent_paths([conversation_id])) == [
        f"/conversations/{conversation_id}/tracker",
        f"/conversations/{conversation_id}/tracker/events",
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=5))
def test_namespaced_ids_round_trip_for_any_text(customer_ids):
    conversation_ids = []
    for customer_id in customer_ids:
        try:
            conversation_ids.append(ids.conversation_id("slack", customer_id))
        except UnicodeEncodeError:
            continue  # lone surrogates: the channels refuse them before this
        assert ids.split(conversation_ids[-1]) == ("slack", customer_id)
    sent = asyncio.run(_sent_paths(conversation_ids))
    assert sent[::2] == [f"/conversations/{c}/tracker" for c in conversation_ids]


def test_older_ids_keep_working_and_have_no_channel():
    for older in ("e2e-1234", "U0JANE_D0JANE", "0123456789abcdef0123456789abcdef"):
        assert ids.split(older) == (None, older)
        assert ids.path_segment(older) == older
        assert ids.output_channel(older) == "latest"
    assert ids.path_segment("old id") == "old%20id"  # still a valid URL
    assert ids.output_channel("slack:U1_D1") == "slack"
    with pytest.raises(ValueError):
        ids.conversation_id("fax", "x")
    with pytest.raises(ValueError):
        ids.path_segment("")


def test_a_token_names_its_conversation_and_nothing_else():
    signer = SessionSigner(b"k" * 32)
    token = signer.issue("rest:jane")
    assert signer.conversation_of(token) == "rest:jane"
    assert signer.holds(token, "rest:jane") and not signer.holds(token, "rest:jane2")
    assert SessionSigner(b"j" * 32).conversation_of(token) is None  # another secret
    version, conversation_id, mac = token.split(".")
    for forged in (
        f"{version}.rest:mallory.{mac}",
        f"v2.{conversation_id}.{mac}",
        f"{version}.{conversation_id}.{mac[:-1]}",
        f"{version}.{conversation_id}.",
        "",
        None,
        42,
        "x" * 5000,
    ):
        assert signer.conversation_of(forged) is None
    with pytest.raises(ValueError):
        signer.issue("rest:not safe")
    with pytest.raises(ConfigurationError):
        SessionSigner(b"short")


def test_the_secret_comes_from_the_environment_or_an_owner_only_file(tmp_path):
    from_env = signer_from_settings(Settings(channel_secret="e" * 40))
    assert from_env.issue("rest:a") == SessionSigner(b"e" * 40).issue("rest:a")

    secret_file = tmp_path / "channel_secret"
    secret_file.write_text("f" * 40 + "\n")
    secret_file.chmod(0o600)
    from_file = signer_from_settings(Settings(channel_secret_file=str(secret_file)))
    assert from_file.issue("rest:a") == SessionSigner(b"f" * 40).issue("rest:a")
    assert "f" * 40 not in repr(Settings(channel_secret="f" * 40)) + repr(from_file)

    secret_file.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        read_secret_file(secret_file)
    with pytest.raises(ConfigurationError):
        read_secret_file(tmp_path / "missing")


def test_several_workers_need_a_shared_secret(monkeypatch):
    monkeypatch.setenv("SANIC_WORKERS", "2")
    with pytest.raises(ConfigurationError, match="FRONTLINE_CHANNEL_SECRET"):
        signer_from_settings(Settings())
    monkeypatch.setenv("SANIC_WORKERS", "1")
    assert signer_from_settings(Settings()) is not None
    assert os.environ["SANIC_WORKERS"] == "1"

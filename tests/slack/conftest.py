"""Fixtures of the Slack tests: the fake Web API, channel servers, and the full stack."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from frontline.channels.slack import SlackChannel
from frontline.channels.store import ChannelStore
from tests.e2e.conftest import stack  # noqa: F401 - the e2e stack, for the e2e tests here
from tests.support.channel_server import ChannelServer
from tests.support.fake_slack import FakeSlack, SlackSender


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlack]:
    """Slack's Web API on a loopback port, recording every call."""
    server = FakeSlack().start()
    yield server
    server.stop()


@dataclass
class SlackApp:
    """The Slack channel under test, served over HTTP, and what Slack would send it."""

    server: ChannelServer
    sender: SlackSender
    channel: SlackChannel
    slack: FakeSlack

    def send(self, request: Any) -> Any:
        import requests

        return requests.post(
            self.server.webhook, data=request.body, headers=request.headers, timeout=10
        )


@pytest.fixture
def slack_app(fake_slack: FakeSlack) -> Iterator[Callable[..., SlackApp]]:
    """Starts the Slack channel configured with ``credentials`` (torn down after the test)."""
    started: list[ChannelServer] = []

    def start(store: ChannelStore | None = None, **credentials: Any) -> SlackApp:
        secret = secrets.token_hex(16)
        config = {
            "slack_token": fake_slack.token,
            "slack_signing_secret": secret,
            "slack_api_url": fake_slack.url,
            "use_threads": True,
            "conversation_granularity": "channel",
        } | credentials
        channel = SlackChannel.from_credentials(config)
        if store is not None:
            channel.store = store
        server = ChannelServer(channel).start()
        started.append(server)
        return SlackApp(
            server, SlackSender(config["slack_signing_secret"] or secret), channel, fake_slack
        )

    yield start
    for server in started:
        server.stop()

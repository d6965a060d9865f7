"""Slack, switched on by environment variables and safe when they are missing.

Rasa refuses to start when the Slack signing secret is empty. One
``credentials.yml`` serves laptops and production, so without a secret this channel
starts with a random one: every request then fails Slack's signature check and is
refused, which is exactly "Slack is off".
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from rasa.core.channels.slack import SlackInput

logger = logging.getLogger(__name__)


class SlackChannel(SlackInput):
    """Rasa's Slack channel, refusing every request until a signing secret is set."""

    @classmethod
    def name(cls) -> str:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SlackInput:
        credentials = dict(credentials or {})
        if not credentials.get("slack_signing_secret"):
            logger.warning("SLACK_SIGNING_SECRET is not set: the Slack channel refuses requests")
            credentials["slack_signing_secret"] = secrets.token_hex(32)
        return super().from_credentials(credentials)

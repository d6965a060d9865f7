"""Connector to the Rasa server's HTTP API (``rasa run --enable-api --auth-token ...``).

The agent desk uses it to read a conversation and to write into it while a human
has it: an agent's reply is a ``bot`` event appended with ``execute_side_effects``,
so Rasa both records it in the tracker and sends it through the customer's channel
when that channel can send outside a request (socket.io, Slack); REST clients see it
in the tracker. The channel is the conversation's own, named by its id's namespace
(``slack:…`` goes out on Slack), never Rasa's "latest input channel", which a caller
could once claim; only conversations stored before namespaces use ``latest``.
Appending events works on a paused conversation, which is why replies and the
hand-back (``resume``) use it.

Conversation ids go into the URL path through
:func:`frontline.channels.ids.path_segment`: Rasa takes the path segment as the id
without decoding it, so namespaced ids (URL-safe by construction) are sent as they
are and Rasa reads back exactly the stored id, whatever characters the customer's id
had.

The token travels as the ``token`` query parameter, the only way Rasa accepts a
static token; it is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from yarl import URL

from frontline.channels import ids
from frontline.connectors.http import JsonServiceClient
from frontline.errors import ConfigurationError

logger = logging.getLogger(__name__)

#: ``output_channel`` value asking Rasa for the channel the customer wrote from last.
LATEST_CHANNEL = ids.LATEST


class RasaClient(JsonServiceClient):
    """The Rasa server's HTTP API, authenticated with its static token.

    Args:
        base_url: The server's URL, e.g. ``http://127.0.0.1:5005``.
        auth_token: The token Rasa was started with (``--auth-token``).
        timeout_seconds: Seconds before a call is abandoned.

    Raises:
        ConfigurationError: No token was given.
    """

    service_name = "Rasa"

    def __init__(self, base_url: str, auth_token: str | None, timeout_seconds: float) -> None:
        if not auth_token:
            raise ConfigurationError(
                "RASA_AUTH_TOKEN is not set: the agent desk only talks to a Rasa server "
                "whose HTTP API is protected (rasa run --enable-api --auth-token ...)"
            )
        super().__init__(base_url, timeout_seconds)
        self._token = auth_token

    def __repr__(self) -> str:
        return f"RasaClient({self.base_url!r})"

    def _url(self, path: str) -> URL:
        # Sent byte for byte: left to itself, aiohttp's URL handling decodes some
        # escapes (%2C becomes a comma), and Rasa would read another conversation id.
        return URL(f"{self.base_url}{path}", encoded=True)

    async def tracker(self, conversation_id: str) -> dict[str, Any]:
        """The conversation's tracker with the events since its last restart.

        Raises:
            BackendUnavailable: Rasa did not answer usefully.
            BackendRejected: Rasa refused the request (e.g. a wrong token).
        """
        return await self.request(
            "GET",
            _conversation_path(conversation_id, "tracker"),
            params={"token": self._token, "include_events": "AFTER_RESTART"},
        )

    async def append_events(
        self,
        conversation_id: str,
        events: Sequence[Mapping[str, Any]],
        *,
        output_channel: str | None = None,
        execute_side_effects: bool = True,
    ) -> dict[str, Any]:
        """Appends events to the conversation and returns its new tracker.

        Args:
            conversation_id: The Rasa sender id.
            events: Events in Rasa's JSON form, e.g. ``{"event": "bot", "text": "..."}``.
            output_channel: The channel bot messages go out on; by default the
                conversation's own (:func:`frontline.channels.ids.output_channel`).
            execute_side_effects: Send the ``bot`` events through the output channel.

        Raises:
            BackendUnavailable: Rasa did not answer usefully.
            BackendRejected: Rasa refused the events or the token.
        """
        params = {
            "token": self._token,
            "include_events": "NONE",
            "output_channel": output_channel or ids.output_channel(conversation_id),
            "execute_side_effects": "true" if execute_side_effects else "false",
        }
        return await self.request(
            "POST",
            _conversation_path(conversation_id, "tracker/events"),
            json=list(events),  # type: ignore[arg-type]  # Rasa takes a JSON list
            params=params,
        )

    async def domain(self) -> dict[str, Any]:
        """The domain of the model Rasa is serving (responses, intents, ...)."""
        return await self.request(
            "GET", "/domain", params={"token": self._token}, headers={"Accept": "application/json"}
        )


def _conversation_path(conversation_id: str, tail: str) -> str:
    return f"/conversations/{ids.path_segment(conversation_id)}/{tail}"

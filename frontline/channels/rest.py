"""Rasa's REST channel with input checks in front of it.

Same URL and answers as Rasa's ``rest`` channel; a request that is not usable gets
a 4xx with ``{"error": code, "message": sentence}`` instead of reaching the NLU.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from frontline.channels.guard import check_rest_body, clean_text

logger = logging.getLogger(__name__)


class GuardedRestInput(RestInput):
    """The ``rest`` channel, refusing malformed, binary and oversized messages."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def _extract_message(self, req: Request) -> str | None:
        text = super()._extract_message(req)
        return clean_text(text) if isinstance(text, str) else text

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def refuse_unusable_requests(request: Request) -> HTTPResponse | None:
            if request.method != "POST":
                return None
            rejection = check_rest_body(request.body)
            if rejection is None:
                return None
            logger.info("Refused a REST message: %s", rejection.error)
            return response.json(rejection.as_json(), status=rejection.status)

        return webhook

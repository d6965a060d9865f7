"""The canary router: sends each message to the Rasa server of its conversation's arm.

A small aiohttp app in front of two Rasa servers (the arms), one per model, which share
the tracker store, the action server and the event broker. For webhook channels that
post JSON with a ``sender`` (Rasa's ``rest`` channel and the like) it asks
:meth:`frontline.release.canary.CanaryStore.assign` for the conversation's arm (pinned on
its first message, sticky on the customer when the channel passes a pseudonymous
``metadata.customer_key``) and forwards the request unchanged. Any number of routers can
run: the assignments live in the shared database. ``GET /health`` answers ``ok``.

    python -m frontline.release router --port 5004 \
        --production http://127.0.0.1:5005 --candidate http://127.0.0.1:5006
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from frontline.release.canary import CanaryStore

logger = logging.getLogger(__name__)

FORWARD_TIMEOUT_SECONDS = 60
_HOP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})
SESSION = web.AppKey("session", aiohttp.ClientSession)


def _error(status: int, error: str, message: str) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status)


def create_app(store: CanaryStore, arms: Mapping[str, str]) -> web.Application:
    """The router for ``arms`` (arm name -> base URL of its Rasa server)."""
    app = web.Application()
    bases = {arm: url.rstrip("/") for arm, url in arms.items()}

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def forward(request: web.Request) -> web.Response:
        try:
            body: Any = await request.json()
        except ValueError:
            return _error(400, "bad_request", "The body must be a JSON object.")
        sender = body.get("sender") if isinstance(body, dict) else None
        if not isinstance(sender, str) or not sender:
            return _error(400, "bad_request", "The body needs a 'sender' (the conversation id).")
        metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        customer = metadata.get("customer_key")
        assignment = await asyncio.get_running_loop().run_in_executor(
            None, store.assign, sender, customer if isinstance(customer, str) else None
        )
        target = bases[assignment.arm] + request.rel_url.path_qs
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        session = app[SESSION]
        try:
            async with session.post(target, json=body, headers=headers) as upstream:
                payload = await upstream.read()
                return web.Response(
                    body=payload,
                    status=upstream.status,
                    content_type=upstream.content_type,
                    headers={"X-Frontline-Arm": assignment.arm},
                )
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            logger.warning("Arm %s at %s unreachable: %s", assignment.arm, target, exc)
            return _error(502, "arm_unreachable", f"The {assignment.arm} model did not answer.")

    async def client_session(app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_SECONDS)
        app[SESSION] = aiohttp.ClientSession(timeout=timeout)
        yield
        await app[SESSION].close()

    app.cleanup_ctx.append(client_session)
    app.router.add_get("/health", health)
    app.router.add_post("/webhooks/{channel}/webhook", forward)
    return app

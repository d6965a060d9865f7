"""An HTTP JSON client with the failure handling every backend call needs.

Every call has a timeout; the status code is checked for real; failures become
project exceptions the services can turn into a clear answer and an escalation:

* timeout, refused connection, 5xx, or a body that is not JSON -> ``BackendUnavailable``
* 404 -> ``NotFound``
* other 4xx -> ``BackendRejected`` (with status and body)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from frontline.errors import BackendRejected, BackendTimeout, BackendUnavailable, NotFound

logger = logging.getLogger(__name__)


class JsonServiceClient:
    """Calls one backend service. One ``aiohttp`` session per event loop, reused."""

    service_name = "backend"

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            # A session is bound to the loop it was created in (tests run several loops).
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._session_loop = loop
        return self._session

    def _url(self, path: str) -> str | URL:
        """The URL of ``path`` (clients whose paths are already encoded return a ``URL``)."""
        return f"{self.base_url}{path}"

    async def close(self) -> None:
        """Closes the session of the current loop."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Sends one request and returns the decoded JSON object.

        Raises:
            BackendUnavailable: timeout, connection failure, 5xx or a non-JSON body.
            NotFound: the service answered 404.
            BackendRejected: the service answered another 4xx.
        """
        url = self._url(path)
        try:
            async with self._get_session().request(
                method, url, json=json, params=params, headers=headers
            ) as response:
                status = response.status
                try:
                    body = await response.json(content_type=None)
                except ValueError as exc:
                    raise BackendUnavailable(
                        f"{self.service_name} sent a non-JSON answer to {method} {path}"
                    ) from exc
        except asyncio.TimeoutError as exc:
            raise BackendTimeout(f"{self.service_name} timed out on {method} {path}") from exc
        except aiohttp.ClientError as exc:
            raise BackendUnavailable(
                f"{self.service_name} unreachable on {method} {path}: {exc}"
            ) from exc

        if not isinstance(body, dict):
            body = {"data": body}
        if 200 <= status < 300:
            return body
        message = f"{self.service_name} answered {status} to {method} {path}: {body.get('error')}"
        logger.info(message)
        if status == 404:
            raise NotFound(message)
        if status >= 500:
            raise BackendUnavailable(message)
        raise BackendRejected(message, status=status, body=body)

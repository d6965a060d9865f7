"""The action server answers the Rasa server only: a shared secret in a header.

Rasa sends ``X-Frontline-Action-Secret`` with every call to the action server
(``endpoints.yml``: ``action_endpoint.headers``, filled from ``${FRONTLINE_ACTION_SECRET}``
by Rasa's environment substitution); :class:`ActionServerAuth` is a rasa-sdk plug-in (its
documented ``attach_sanic_app_extensions`` hook) that refuses any request without it with
401 ``{error, message}`` before an action runs. ``/health`` stays open (it says nothing);
``/metrics`` has its own token.

The secret comes from ``FRONTLINE_ACTION_SECRET`` or the owner-only file named by
``FRONTLINE_ACTION_SECRET_FILE`` (:func:`frontline.runtime.server_secrets.read_secret`),
never from a command line. Without one the action server does not start.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Mapping, MutableMapping
from typing import Any

import pluggy
from sanic import response

from frontline.runtime.server_secrets import ServerSecret, read_secret

logger = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker("rasa_sdk")

HEADER = "X-Frontline-Action-Secret"
ACTION_SECRET = ServerSecret("FRONTLINE_ACTION_SECRET", "--action-secret")
#: Paths any caller may use: the liveness check (``/metrics`` checks its own token).
OPEN_PATHS = frozenset({"/health", "/health/live", "/health/ready", "/metrics"})
#: Where the action server listens unless ``FRONTLINE_ACTION_HOST`` says otherwise.
DEFAULT_HOST = "127.0.0.1"


def action_secret(env: Mapping[str, str] | None = None) -> str | None:
    """The shared secret from the environment or its owner-only file (None: not set).

    Raises:
        SecretRefused: The file is readable by others, empty, or both sources are set.
    """
    return read_secret(ACTION_SECRET, os.environ if env is None else env)


def export_action_secret(env: MutableMapping[str, str] | None = None) -> None:
    """Puts a secret read from ``FRONTLINE_ACTION_SECRET_FILE`` into the process's own
    environment, where Rasa's ``${FRONTLINE_ACTION_SECRET}`` in ``endpoints.yml`` finds it
    (the command line never holds it)."""
    env = os.environ if env is None else env
    if env.get(ACTION_SECRET.variable):
        return
    secret = action_secret(env)
    if secret:
        env[ACTION_SECRET.variable] = secret
        env.pop(ACTION_SECRET.file_variable, None)


def unauthorized(message: str) -> Any:
    return response.json({"error": "unauthorized", "message": message}, status=401)


class ActionServerAuth:
    """rasa-sdk plug-in: every request but :data:`OPEN_PATHS` carries the shared secret."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the action server's shared secret is empty")
        self._secret = secret.encode()

    def allowed(self, path: str, offered: str | None) -> bool:
        """Whether a request to ``path`` with header value ``offered`` may go on."""
        if path in OPEN_PATHS:
            return True
        return offered is not None and hmac.compare_digest(offered.encode(), self._secret)

    @hookimpl
    def attach_sanic_app_extensions(self, app: Any) -> None:
        async def require_secret(request: Any) -> Any:
            if self.allowed(request.path, request.headers.get(HEADER)):
                return None
            logger.warning("Refused a call to %s without the shared secret", request.path)
            return unauthorized(
                f"The action server answers the Rasa server only: send the {HEADER} header."
            )

        app.register_middleware(require_secret, "request")

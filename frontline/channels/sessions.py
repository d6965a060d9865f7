"""Session tokens: a conversation belongs to whoever holds the secret the server issued.

A token is ``v1.<conversation id>.<mac>``, the MAC being HMAC-SHA256 (keyed with the
channel secret) over the conversation id, base64url without padding. The conversation
id in it is URL-safe by construction (:mod:`frontline.channels.ids`), so the token is
too. Tokens carry no state on the server: any Rasa server or worker with the same
secret checks them, and a restart keeps them valid. Changing the secret ends every
open session (web chat pages start a new conversation; REST clients are told to).

The secret comes from ``FRONTLINE_CHANNEL_SECRET`` or from the owner-only file named
by ``FRONTLINE_CHANNEL_SECRET_FILE``; never from a command line. Without either, a
random secret is made for the process: fine for one server on a laptop, but tokens
then end with the process and are not shared with other workers, so production sets
one (``deploy/``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

from frontline.channels.ids import is_url_safe
from frontline.errors import ConfigurationError
from frontline.settings import Settings

logger = logging.getLogger(__name__)

#: The HTTP header carrying a REST conversation's token, both ways.
TOKEN_HEADER = "X-Session-Token"
TOKEN_VERSION = "v1"
MIN_SECRET_BYTES = 32
MAX_TOKEN_CHARS = 1024
_CONTEXT = b"frontline channel session v1\x00"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SessionSigner:
    """Issues and checks session tokens with one secret.

    Args:
        secret: At least 32 bytes.

    Raises:
        ConfigurationError: The secret is too short.
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"the channel secret must have at least {MIN_SECRET_BYTES} bytes"
            )
        self._secret = secret

    def __repr__(self) -> str:
        return "SessionSigner(<secret>)"

    def _mac(self, conversation_id: str) -> str:
        digest = hmac.new(self._secret, _CONTEXT + conversation_id.encode("utf-8"), hashlib.sha256)
        return _b64(digest.digest())

    def issue(self, conversation_id: str) -> str:
        """The token of ``conversation_id`` (the same every time for one secret).

        Raises:
            ValueError: The id is not URL-safe (not made by :mod:`~frontline.channels.ids`).
        """
        if not is_url_safe(conversation_id):
            raise ValueError("session tokens are issued for namespaced conversation ids only")
        return f"{TOKEN_VERSION}.{conversation_id}.{self._mac(conversation_id)}"

    def conversation_of(self, token: object) -> str | None:
        """The conversation a genuine token names; None for anything else."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
            return None
        version, _, rest = token.partition(".")
        conversation_id, _, mac = rest.rpartition(".")
        if version != TOKEN_VERSION or not conversation_id or not is_url_safe(conversation_id):
            return None
        if not hmac.compare_digest(
            mac.encode("ascii", "replace"), self._mac(conversation_id).encode()
        ):
            return None
        return conversation_id

    def holds(self, token: object, conversation_id: str) -> bool:
        """True when ``token`` is the genuine token of ``conversation_id``."""
        return self.conversation_of(token) == conversation_id


def read_secret_file(path: Path) -> bytes:
    """The secret in ``path``, which only its owner may read.

    Raises:
        ConfigurationError: Missing, unreadable, readable by others, or too short.
    """
    try:
        mode = path.stat().st_mode
        data = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the channel secret file {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"the channel secret file {path} is open to other users: chmod 600 it"
        )
    if len(data) < MIN_SECRET_BYTES:
        raise ConfigurationError(f"the channel secret in {path} is shorter than 32 bytes")
    return data


def signer_from_settings(settings: Settings) -> SessionSigner:
    """The signer with the configured secret (a random one, with a warning, if none).

    Raises:
        ConfigurationError: The configured secret is unusable.
    """
    if settings.channel_secret:
        return SessionSigner(settings.channel_secret.encode("utf-8"))
    if settings.channel_secret_file:
        return SessionSigner(read_secret_file(Path(settings.channel_secret_file)))
    if int(os.environ.get("SANIC_WORKERS", "1")) > 1:
        raise ConfigurationError(
            "SANIC_WORKERS > 1 needs FRONTLINE_CHANNEL_SECRET(_FILE): each worker would "
            "refuse the session tokens the others issued"
        )
    logger.warning(
        "No FRONTLINE_CHANNEL_SECRET(_FILE): conversation tokens are signed with a random "
        "secret and end with this process"
    )
    return SessionSigner(secrets.token_bytes(MIN_SECRET_BYTES))

"""Pseudonymous customer ids: a keyed hash, so outcome records name no one.

``HMAC-SHA256(key, "customer:C1001")`` (a verified customer, the same on every channel)
or ``HMAC-SHA256(key, "sender:slack:U123")`` (the channel's sender id, before or without
verification), cut to 32 hex characters. Without the key nobody can tell which
customer a record is about, nor test a guess; with it, repeat contacts of one customer
are found across channels and days.

The key comes from ``FRONTLINE_PSEUDONYM_KEY``. Without it (a laptop), a random key is
made once and kept owner-only in ``var/pseudonym_key``, so ids stay the same across
restarts. Changing the key starts new ids: earlier contacts are no longer recognised as
the same customer's.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from frontline.errors import ConfigurationError
from frontline.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

KEY_ENV = "FRONTLINE_PSEUDONYM_KEY"
DEFAULT_KEY_FILE = PROJECT_ROOT / "var" / "pseudonym_key"
MIN_KEY_LENGTH = 16
ID_LENGTH = 32


def pseudonymizer(key: str) -> Callable[[str], str]:
    """The keyed hash with ``key``.

    Raises:
        ConfigurationError: The key is shorter than 16 characters.
    """
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigurationError(
            f"the pseudonym key must have at least {MIN_KEY_LENGTH} characters"
        )
    secret = key.encode()

    def pseudonymize(reference: str) -> str:
        return hmac.new(secret, reference.encode(), hashlib.sha256).hexdigest()[:ID_LENGTH]

    return pseudonymize


def load_key(configured: str | None, key_file: Path = DEFAULT_KEY_FILE) -> str:
    """``configured`` (settings' ``pseudonym_key``), else the key in ``key_file``, made
    (owner-only) if it does not exist yet."""
    if configured and configured.strip():
        return configured.strip()
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    # Written whole under a temporary name, then linked into place: a process starting
    # at the same time either wins the link or reads the complete file of the winner.
    key = secrets.token_urlsafe(32)
    temporary = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
        try:
            os.link(temporary, key_file)
        except FileExistsError:
            return key_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"set {KEY_ENV}: cannot create {key_file}: {exc}") from exc
    finally:
        temporary.unlink(missing_ok=True)
    logger.warning("%s is not set: made a pseudonym key in %s", KEY_ENV, key_file)
    return key

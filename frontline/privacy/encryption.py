"""Tracker events encrypted at rest (the ``data`` column of Rasa's ``events`` table).

Each event's JSON is sealed with Fernet (AES-128-CBC and HMAC-SHA256, from
``cryptography``) as ``fernet:<token>``; the other columns (sender id, event type,
intent and action names, time) stay plain, so Rasa's queries work unchanged. The live
conversation loses nothing: the tracker store opens the events as it loads them.

Keys come from ``FRONTLINE_TRACKER_KEY`` (several, comma-separated: the first seals,
all open, for rotation) or from the owner-only file ``FRONTLINE_TRACKER_KEY_FILE``.
Without either (a laptop) a random key is made once in ``var/tracker_key``, owner-only.
A key is any secret of at least 16 characters; the Fernet key is derived from it.
Rows written before encryption (plain JSON) are still read: no migration.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from frontline.errors import ConfigurationError
from frontline.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

PREFIX = "fernet:"
DEFAULT_KEY_FILE = PROJECT_ROOT / "var" / "tracker_key"
MIN_KEY_LENGTH = 16


class UnreadableEvent(ValueError):
    """A stored event cannot be opened with any of the keys."""


class EventCipher:
    """Seals and opens the stored text of tracker events.

    Args:
        keys: Secrets; the first seals, every one opens.

    Raises:
        ConfigurationError: No key, or one shorter than 16 characters.
    """

    def __init__(self, keys: list[str]) -> None:
        if not keys or any(len(key) < MIN_KEY_LENGTH for key in keys):
            raise ConfigurationError(
                f"tracker encryption keys need at least {MIN_KEY_LENGTH} characters each"
            )
        self._fernet = MultiFernet([Fernet(_fernet_key(key)) for key in keys])

    def seal(self, text: str) -> str:
        """``fernet:<token>`` of ``text``."""
        return PREFIX + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        """The text of a sealed value; a value stored before encryption as it is.

        Raises:
            UnreadableEvent: Sealed with a key that is not configured, or altered.
        """
        if not isinstance(stored, str):
            raise UnreadableEvent("a tracker event holds no text")
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise UnreadableEvent("a tracker event cannot be opened with the keys") from exc


class PlainText(EventCipher):
    """No encryption (the data-handling policy keeps tracker events as they are)."""

    def __init__(self) -> None:  # no keys
        pass

    def seal(self, text: str) -> str:
        return text

    def open(self, stored: str) -> str:
        if isinstance(stored, str) and stored.startswith(PREFIX):
            raise UnreadableEvent("a sealed tracker event, but no tracker key is in use")
        return super().open(stored)


def tracker_cipher(settings: Settings) -> EventCipher:
    """What the tracker store seals events with, as the data-handling policy says."""
    from frontline.policy import policies  # loaded on first use, never at import

    if policies().data_handling.at_rest("tracker") == "keep":
        return PlainText()
    return cipher_from_settings(settings)


def _fernet_key(secret: str) -> bytes:
    digest = hashlib.sha256(b"frontline-tracker-events:" + secret.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest)


def cipher_from_settings(settings: Settings, key_file: Path = DEFAULT_KEY_FILE) -> EventCipher:
    """The cipher with the configured keys (a key made in ``key_file`` when none is).

    Raises:
        ConfigurationError: The key file is open to others or unreadable, or a key is short.
    """
    if settings.tracker_key:
        return EventCipher([key.strip() for key in settings.tracker_key.split(",") if key.strip()])
    if settings.tracker_key_file:
        return EventCipher(_read_key_file(Path(settings.tracker_key_file)))
    if not key_file.exists():
        _make_key_file(key_file)
    return EventCipher(_read_key_file(key_file))


def _read_key_file(path: Path) -> list[str]:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read the tracker key file {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"the tracker key file {path} is open to other users: chmod 600")
    return [key.strip() for key in text.replace("\n", ",").split(",") if key.strip()]


def _make_key_file(path: Path) -> None:
    # Made whole under a temporary name, then linked into place: a process starting at
    # the same time either wins the link or reads the winner's complete file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            return
    except OSError as exc:
        raise ConfigurationError(f"set FRONTLINE_TRACKER_KEY: cannot create {path}") from exc
    finally:
        temporary.unlink(missing_ok=True)
    logger.warning("FRONTLINE_TRACKER_KEY is not set: made a tracker key in %s", path)

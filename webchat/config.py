"""Configuration of the web chat server, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

STORAGES = ("session", "local")


class WebChatConfigError(ValueError):
    """A web chat setting is missing or invalid."""


@dataclass(frozen=True)
class WebChatConfig:
    """What the widget needs to know, and what the page shows.

    Attributes:
        socket_url: Base URL of the Rasa server whose ``socketio`` channel the widget
            talks to (``http://127.0.0.1:5005``; ``https://`` in production, which the
            widget turns into ``wss://``).
        socket_path: Rasa's socket.io path (``socketio_path`` in credentials.yml).
        title: The chat window's title.
        notice: The automated-assistant notice, always shown at the top of the chat.
        human_payload: What the "Talk to a person" button sends.
        storage: Where the page keeps the session id and transcript: ``session``
            (this tab, survives reloads; gone when the tab closes) or ``local``
            (survives closing the browser).
    """

    socket_url: str = "http://127.0.0.1:5005"
    socket_path: str = "/socket.io/"
    title: str = "Customer support"
    notice: str = (
        "You're chatting with an automated assistant. " "You can talk to a person at any time."
    )
    human_payload: str = "/request_human"
    storage: str = "session"

    def __post_init__(self) -> None:
        parts = urlsplit(self.socket_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise WebChatConfigError(
                f"WEBCHAT_SOCKET_URL must be an http(s) URL, not {self.socket_url!r}"
            )
        if not self.socket_path.startswith("/"):
            raise WebChatConfigError("WEBCHAT_SOCKET_PATH must start with '/'")
        if self.storage not in STORAGES:
            raise WebChatConfigError(f"WEBCHAT_STORAGE must be one of {', '.join(STORAGES)}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebChatConfig:
        """Reads ``WEBCHAT_SOCKET_URL``, ``WEBCHAT_SOCKET_PATH``, ``WEBCHAT_TITLE``,
        ``WEBCHAT_NOTICE`` and ``WEBCHAT_STORAGE`` (``os.environ`` when omitted).

        Raises:
            WebChatConfigError: A value is invalid.
        """
        env = os.environ if env is None else env
        return cls(
            socket_url=(env.get("WEBCHAT_SOCKET_URL") or cls.socket_url).rstrip("/"),
            socket_path=env.get("WEBCHAT_SOCKET_PATH") or cls.socket_path,
            title=env.get("WEBCHAT_TITLE") or cls.title,
            notice=env.get("WEBCHAT_NOTICE") or cls.notice,
            storage=env.get("WEBCHAT_STORAGE") or cls.storage,
        )

    @property
    def socket_origins(self) -> tuple[str, str]:
        """The socket's origin as ``http(s)://host`` and ``ws(s)://host`` (for the CSP)."""
        parts = urlsplit(self.socket_url)
        websocket = "wss" if parts.scheme == "https" else "ws"
        return f"{parts.scheme}://{parts.netloc}", f"{websocket}://{parts.netloc}"

    def public(self) -> dict[str, Any]:
        """``config.json``: what the widget reads (nothing secret)."""
        return {
            "socketUrl": self.socket_url,
            "socketPath": self.socket_path,
            "title": self.title,
            "notice": self.notice,
            "humanPayload": self.human_payload,
            "storage": self.storage,
        }

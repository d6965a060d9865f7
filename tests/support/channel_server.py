"""Rasa input channels on a real Sanic server, with a small recording bot behind them.

For testing a channel's webhook (signatures, retries, conversation ids, where replies
go) without training or starting Rasa: the channel's own blueprint is served over
real HTTP on a loopback port from a background thread, and every message it accepts
is recorded and answered with ``echo: <text>`` through the channel's output.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Sanic

from tests.support.processes import free_port

T = TypeVar("T")
_names = itertools.count(1)


class ChannelServer:
    """One input channel served from a thread of its own.

    Args:
        channel: The input channel under test.
        reply: What the "bot" does with a message (default: answer ``echo: <text>``).
    """

    def __init__(
        self,
        channel: InputChannel,
        reply: Callable[[UserMessage], Awaitable[None]] | None = None,
    ) -> None:
        self.channel = channel
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.messages: list[UserMessage] = []
        self._reply = reply or self.echo
        self._changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None

    @property
    def webhook(self) -> str:
        """URL of the channel's webhook, as Rasa serves it."""
        return f"{self.url}/webhooks/{self.channel.url_prefix()}/webhook"

    @staticmethod
    async def echo(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")

    async def _on_message(self, message: UserMessage) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()
        await self._reply(message)

    def start(self) -> ChannelServer:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, args=(ready, failure), daemon=True)
        self._thread.start()
        if not ready.wait(timeout=30):
            raise RuntimeError("the channel server did not start")
        if failure:
            raise RuntimeError("the channel server failed to start") from failure[0]
        return self

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        # Several apps in one process: Sanic 21.12 then needs its test mode, which keeps
        # the original methods around for each app's "touch-up" of its classes.
        Sanic.test_mode = True
        app = Sanic(f"channel_test_{next(_names)}", configure_logging=False)
        prefix = f"/webhooks/{self.channel.url_prefix()}"
        app.blueprint(self.channel.blueprint(self._on_message), url_prefix=prefix)
        try:
            self._server = self._loop.run_until_complete(
                app.create_server(
                    host="127.0.0.1", port=self.port, return_asyncio_server=True, debug=False
                )
            )
            self._loop.run_until_complete(self._server.startup())
            self._loop.run_until_complete(self._server.before_start())
            self._loop.run_until_complete(self._server.after_start())
        except Exception as exc:  # noqa: BLE001 - reported to the starting thread
            failure.append(exc)
            ready.set()
            return
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._server.before_stop())
        self._server.close()
        self._loop.run_until_complete(self._server.wait_closed())
        self._loop.run_until_complete(self._server.after_stop())
        pending = asyncio.all_tasks(self._loop)  # e.g. socket.io's pings of open sockets
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=15)
            self._loop = None

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Runs ``coroutine`` in the server's event loop and returns its result."""
        if self._loop is None:
            raise RuntimeError("the channel server is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def wait_for_messages(self, count: int, timeout: float = 15.0) -> list[UserMessage]:
        """Waits (bounded) until ``count`` messages arrived; returns all of them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} messages, got {self.messages}")
                self._changed.wait(left)
            return list(self.messages)

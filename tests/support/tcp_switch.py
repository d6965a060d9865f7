"""A TCP relay to a real server that a test can cut and restore: a dependency going down.

The servers under test reach PostgreSQL or Redis through ``127.0.0.1:<port>`` of the
relay; :meth:`TcpSwitch.cut` closes the listening socket and every relayed connection
(new connections are refused, as if the server had stopped), :meth:`TcpSwitch.restore`
listens again on the same port. The shared servers themselves are never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from concurrent.futures import Future
from typing import Any

from tests.support.processes import free_port


class TcpSwitch:
    """Relays ``127.0.0.1:<port>`` to ``target_host:target_port`` from a thread of its own."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def url_for(self, url: str) -> str:
        """``url`` (``scheme://user@host:port/...``) pointed at the relay instead."""
        scheme, _, rest = url.partition("://")
        credentials, _, location = rest.rpartition("@")
        path = location.partition("/")[2]
        user = f"{credentials}@" if credentials else ""
        return f"{scheme}://{user}127.0.0.1:{self.port}/{path}"

    def start(self) -> TcpSwitch:
        self._thread.start()
        self.restore()
        return self

    def restore(self) -> None:
        """Listens again: the dependency is back."""
        self._call(self._listen())

    def cut(self) -> None:
        """Refuses new connections and closes the relayed ones: the dependency is down."""
        self._call(self._close())

    def stop(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _call(self, coroutine: Any) -> None:
        future: Future[None] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        future.result(timeout=30)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._relay, "127.0.0.1", self.port, reuse_address=True
            )

    async def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, upstream_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._writers.difference_update((writer, upstream_writer))

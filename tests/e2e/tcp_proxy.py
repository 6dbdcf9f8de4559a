"""A TCP proxy that a test can cut and restore: a database connection dropped.

`cut()` closes every connection through it and refuses new ones (what a client
sees when the database server goes away); `restore()` accepts again. It runs in
a thread of its own, so the test's own event loop (or none) does not matter.
"""

import asyncio
import contextlib
import threading
from typing import Any, Coroutine, Iterator, List, Optional, Set

CHUNK_BYTES = 65536


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port`."""

    def __init__(self, target_host: str, target_port: int, port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._server: Optional[asyncio.base_events.Server] = None
        self._writers: Set[asyncio.StreamWriter] = set()
        # Local ports of the open connections to the target.
        self._upstream_ports: Set[int] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.restore()

    def cut(self) -> None:
        """Closes every connection through the proxy and refuses new ones."""
        self._call(self._cut())

    def restore(self) -> None:
        """Accepts connections again."""
        self._call(self._listen())

    def upstream_ports(self) -> List[int]:
        """The local ports of the proxy's open connections to the target."""
        return sorted(self._upstream_ports)

    def stop(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _call(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=30)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._forward, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        self._upstream_ports.clear()

    async def _forward(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update((client_writer, server_writer))
        local_port = int(server_writer.get_extra_info("sockname")[1])
        self._upstream_ports.add(local_port)
        try:
            await asyncio.gather(
                self._pipe(client_reader, server_writer),
                self._pipe(server_reader, client_writer),
            )
        finally:
            self._upstream_ports.discard(local_port)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                data = await reader.read(CHUNK_BYTES)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


@contextlib.contextmanager
def tcp_proxy(target_host: str, target_port: int, port: int) -> Iterator[TcpProxy]:
    """A started proxy on `port`, stopped afterwards."""
    proxy = TcpProxy(target_host, target_port, port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()

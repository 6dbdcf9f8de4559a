"""A tiny round-robin HTTP load balancer for tests: one address, several servers.

The standalone inbox delivers its events to one `public_url`; with several Rasa
replicas that is a load balancer's address. This one forwards each request
(method, path with query, headers, body, unchanged: the inbox's signature
covers them) to the next backend in turn, and to the one after it if a backend
refuses the connection (a replica that was killed). `only` pins every request
to one backend, to show that a replica serves customers of another.
"""

import asyncio
import threading
from contextlib import contextmanager
from typing import Iterator, List, Optional

import aiohttp
from aiohttp import web

from tests.e2e.servers import free_port

_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


class Balancer:
    """Round-robin over `backends` (base URLs), on 127.0.0.1:`port`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.backends: List[str] = []
        self.only: Optional[int] = None
        self.forwarded = [0, 0]
        self._next = 0

    def _order(self) -> List[int]:
        if self.only is not None:
            return [self.only]
        first = self._next % len(self.backends)
        self._next += 1
        return [(first + i) % len(self.backends) for i in range(len(self.backends))]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS
        }
        timeout = aiohttp.ClientTimeout(total=60)
        for index in self._order():
            try:
                async with aiohttp.ClientSession(
                    timeout=timeout
                ) as session, session.request(
                    request.method,
                    self.backends[index] + request.path_qs,
                    data=body,
                    headers=headers,
                ) as answer:
                    self.forwarded[index] += 1
                    return web.Response(
                        status=answer.status,
                        body=await answer.read(),
                        content_type=answer.content_type,
                    )
            except aiohttp.ClientConnectionError:
                continue  # that replica is down: the next one
        return web.json_response({"error": "no backend is up"}, status=502)


@contextmanager
def balancer() -> Iterator[Balancer]:
    """Runs a `Balancer` in a thread of its own; set `backends` before use."""
    proxy = Balancer(free_port())
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", proxy.port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()

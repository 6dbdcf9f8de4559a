"""Starting and stopping the API, and the endpoints that need no credentials.

On start-up the listeners create the tables and seed the agents (`inbox.yml` is
the list: whoever was removed is retired), then start the change feed and the
background rounds (housekeeping, expiring absent agents); on shutdown they stop
them and close the store. `health` and `openapi` answer anyone.
"""

import asyncio
import contextlib
import logging
from typing import Any, Awaitable, Callable

from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from rasa_handover.__version__ import __version__
from rasa_handover.inbox.api.base import _ApiBase
from rasa_handover.inbox.api.responses import database_unavailable_response
from rasa_handover.inbox.openapi import openapi_document

logger = logging.getLogger(__name__)


class _Lifecycle(_ApiBase):
    """Lifecycle listeners, background rounds, the health check and OpenAPI."""

    # --- Lifecycle. ---------------------------------------------------------------

    async def on_start(self, _app: Sanic, _loop: Any) -> None:
        # inbox.yml is the list of agents: whoever was removed is retired.
        await self.service.start(self.config.agent_profiles(), retire_unlisted=True)

    async def on_started(self, _app: Sanic, _loop: Any) -> None:
        await self.change_feed.start()
        if self.config.housekeeping_seconds > 0:
            self._housekeeping = asyncio.ensure_future(
                self._repeat(
                    self.service.housekeeping, self.config.housekeeping_seconds
                )
            )
        if self.service.presence.check_seconds > 0:
            self._presence = asyncio.ensure_future(
                self._repeat(
                    self.service.expire_absent, self.service.presence.check_seconds
                )
            )

    async def on_stop(self, _app: Sanic, _loop: Any) -> None:
        await self.change_feed.close()
        for task in (self._housekeeping, self._presence):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._housekeeping = self._presence = None

    async def on_stopped(self, _app: Sanic, _loop: Any) -> None:
        await self.service.close()

    @staticmethod
    async def _repeat(work: Callable[[], Awaitable[Any]], seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except Exception:
                # Keep the loop alive: the next round may succeed (DB restart).
                logger.exception("Inbox background work failed")

    # --- Public endpoints. --------------------------------------------------------

    async def health(self, _request: Request) -> HTTPResponse:
        try:
            latest = await self.service.store.latest_event_id()
        except Exception as error:
            logger.warning("Inbox health check: database unavailable: %s", error)
            return database_unavailable_response()
        return json_response(
            {"status": "ok", "version": __version__, "latest_event_id": latest}
        )

    async def openapi(self, request: Request) -> HTTPResponse:
        base = request.path[: -len("/openapi.json")]
        return json_response(openapi_document(server_url=base or "/"))

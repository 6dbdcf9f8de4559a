"""Wakes this replica's event streams when another replica writes an event.

On PostgreSQL every transaction that appends an event notifies the store's
channel (`store.changes`). `ChangeFeed` keeps one connection of its own
listening on it (asyncpg's `add_listener`) and calls `on_change` for every
notification: the agents' event streams and the notifier of this replica wake
at once instead of on their next poll. The polling stays as the fallback:
while the connection is down (the feed reconnects every `RECONNECT_SECONDS`)
other replicas' events show up within a poll, as they always did.

On SQLite there is nothing to listen to (one process writes): the feed does
nothing.
"""

import asyncio
import contextlib
import logging
from typing import Any, Callable, Optional

import asyncpg
from sqlalchemy.engine import make_url

from rasa_handover.inbox.store import InboxStore

logger = logging.getLogger(__name__)

# Pause before listening again after the connection failed or was lost.
RECONNECT_SECONDS = 5.0


def asyncpg_dsn(store_url: str) -> str:
    """The plain `postgresql://` URL asyncpg connects to, from the store's URL."""
    url = make_url(store_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class ChangeFeed:
    """Listens for other replicas' events (PostgreSQL `LISTEN`)."""

    def __init__(
        self,
        store: InboxStore,
        on_change: Callable[[], None],
        reconnect_seconds: float = RECONNECT_SECONDS,
    ) -> None:
        """Creates the feed (call `start()`).

        Args:
            store: The inbox's store (its URL and notification channel).
            on_change: Called for every notification (in the event loop).
            reconnect_seconds: See `RECONNECT_SECONDS`.

        """
        self.store = store
        self.on_change = on_change
        self.reconnect_seconds = reconnect_seconds
        self._task: Optional[asyncio.Task[None]] = None
        # Set while the connection listens (made in `start()`, in its loop).
        self.listening: Optional[asyncio.Event] = None

    async def start(self) -> None:
        """Starts listening in the background (nothing on SQLite)."""
        if self.store.change_channel is None or self._task is not None:
            return
        self.listening = asyncio.Event()
        self._task = asyncio.ensure_future(self._run(self.store.change_channel))

    async def close(self) -> None:
        """Stops listening and closes the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, channel: str) -> None:
        dsn = asyncpg_dsn(self.store.url)
        while True:
            try:
                await self._listen(dsn, channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database may be back soon
                logger.warning(
                    "Not listening for other inbox replicas' events (%s); "
                    "they show up by polling meanwhile",
                    error,
                )
            assert self.listening is not None
            self.listening.clear()
            # What happened while nobody listened: the streams look now.
            self.on_change()
            await asyncio.sleep(self.reconnect_seconds)

    async def _listen(self, dsn: str, channel: str) -> None:
        """Listens until the connection is lost."""
        lost = asyncio.Event()
        connection = await asyncpg.connect(dsn)
        try:
            connection.add_termination_listener(lambda _conn: lost.set())
            await connection.add_listener(channel, self._notified)
            assert self.listening is not None
            self.listening.set()
            while not lost.is_set():
                # A dead TCP connection is noticed by a query, not by waiting.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(lost.wait(), self.reconnect_seconds)
                if not lost.is_set():
                    await connection.execute("SELECT 1")
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    def _notified(self, *_args: Any) -> None:
        self.on_change()

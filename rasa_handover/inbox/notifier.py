"""Delivers a standalone inbox's events to the channels, from the events table.

In embedded mode the channel subscribes to `InboxService` in process. A
standalone inbox cannot, so `WebhookNotifier` POSTs each customer-facing event
(`publisher.customer_facing`: an agent's reply, an assignment, a resolution,
...), signed with the inbox-to-channel key (`signing`), to the webhook the
channel put into its tickets' payload (`channel_callback_url`).

Nothing is kept only in memory: the events are read from the database, per
channel, after the channel's cursor (`store.deliveries`: the id of the last
event the channel acknowledged), oldest first. A channel that does not answer
2xx holds its later events back (the order of a conversation is kept) and is
retried with a growing pause, for as long as it takes; a restart of the inbox
resumes at the cursor. So every event arrives at least once, and the channel
applies each event id once (`channels.inbox_events`): effectively once.

Several inbox replicas run a notifier each, but a channel's events are
delivered by one of them at a time: the holder of the lease on the channel's
cursor (`store.deliveries.take_channel_lease`), renewed while it delivers (a
request never outlives it) and given up at shutdown. A replica that dies keeps
it at most `LEASE_SECONDS`; then another takes over at the cursor. Only events
the dead replica delivered in its last `SETTLE_SECONDS` can then arrive twice
(the channel ignores them).

On PostgreSQL an event can become visible after one with a higher id (two
transactions commit in the other order). The cursor therefore only passes
events older than `SETTLE_SECONDS`; younger ones already delivered are
remembered in memory, and after a restart sent again (the channel ignores
them).
"""

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Dict, List, Optional, Set, Tuple

import aiohttp
from yarl import URL

from rasa_handover.inbox.config import (
    DEFAULT_DELIVERY_LEASE_SECONDS,
    DELIVERY_LEASE_MARGIN_SECONDS,
    DELIVERY_REQUEST_TIMEOUT_SECONDS,
)
from rasa_handover.inbox.contract import notification
from rasa_handover.inbox.models import LifecycleEvent, Ticket
from rasa_handover.inbox.publisher import as_notified, customer_facing
from rasa_handover.inbox.service import InboxService
from rasa_handover.inbox.signing import sign
from rasa_handover.inbox.store.engine import is_sqlite

logger = logging.getLogger(__name__)

# Pause after a channel's first failure; doubles up to the maximum.
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
REQUEST_TIMEOUT_SECONDS = DELIVERY_REQUEST_TIMEOUT_SECONDS
# How often the table is read when nothing happened in this process (another
# replica may have written events).
POLL_SECONDS = 1.0
# PostgreSQL: how long a transaction may take to commit after writing its event.
SETTLE_SECONDS = 10.0
# How long a replica's right to deliver a channel's events lasts unless renewed:
# how long a dead replica's channels wait (inbox.yml `delivery_lease_seconds`).
# It is renewed before each request once less than a request's timeout (and a
# margin) is left, so a request in flight never outlives the lease (another
# replica would deliver meanwhile).
LEASE_SECONDS = DEFAULT_DELIVERY_LEASE_SECONDS
LEASE_MARGIN_SECONDS = DELIVERY_LEASE_MARGIN_SECONDS
# A channel's answers that refuse an event for good: it is skipped (logged).
PERMANENT_REFUSALS = (400, 413, 422)
HTTP_REDIRECT = 300


@dataclass
class _Channel:
    """What this process knows about one channel between rounds."""

    # Events delivered (or skipped) beyond the stored cursor.
    done: Set[int] = field(default_factory=set)
    failures: int = 0
    next_try: float = 0.0
    # Until when (this process's clock) the lease surely holds; 0: not held.
    leased_until: float = 0.0
    # Another replica holds the lease: when to ask again.
    next_lease_try: float = 0.0


class WebhookNotifier:
    """Delivers every channel's events from the table, in order, until acknowledged."""

    def __init__(
        self,
        service: InboxService,
        key: str,
        backoff_seconds: float = BACKOFF_SECONDS,
        timeout_seconds: float = REQUEST_TIMEOUT_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        settle_seconds: Optional[float] = None,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = LEASE_SECONDS,
        replica_id: Optional[str] = None,
    ) -> None:
        """Creates the notifier (call `start()`).

        Args:
            service: The inbox (its store holds the events and cursors).
            key: The inbox-to-channel key (`signing.SigningKeys`).
            backoff_seconds: Pause after a channel's first failure; doubles.
            timeout_seconds: Per-request timeout.
            poll_seconds: Longest pause between rounds.
            settle_seconds: See `SETTLE_SECONDS` (default: 0 on SQLite, where
                one process writes in order, else `SETTLE_SECONDS`).
            clock: Unix time.
            lease_seconds: See `LEASE_SECONDS`; longer than the request
                timeout and `LEASE_MARGIN_SECONDS`.
            replica_id: Names this replica in the leases (default: host,
                process id and a random part).

        """
        if lease_seconds <= timeout_seconds + LEASE_MARGIN_SECONDS:
            raise ValueError(
                f"lease_seconds ({lease_seconds}) must exceed the request timeout "
                f"({timeout_seconds}) by more than {LEASE_MARGIN_SECONDS} s: a "
                "delivery in flight must not outlive the lease"
            )
        self.service = service
        self.lease_seconds = lease_seconds
        self.replica_id = replica_id or default_replica_id()
        self.key = key
        self.backoff_seconds = backoff_seconds
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds
        if settle_seconds is None:
            settle_seconds = 0.0 if is_sqlite(service.store.url) else SETTLE_SECONDS
        self.settle_seconds = settle_seconds
        self._clock = clock
        self._channels: Dict[str, _Channel] = {}
        self._worker: Optional[asyncio.Task[None]] = None
        self._session: Optional[aiohttp.ClientSession] = None
        self._closing = False

    async def start(self) -> None:
        """Starts the cursors of open tickets' channels, then the worker."""
        for url in await self.service.store.open_ticket_channels():
            await self.service.store.ensure_channel(url)
        self._closing = False
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        """Stops the worker; what is undelivered stays in the table."""
        # Also a flag: `asyncio.wait_for` (3.8-3.11) can swallow a cancellation
        # that arrives as its event is set.
        self._closing = True
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        try:
            await self.service.store.release_channel_leases(self.replica_id)
        except Exception:  # the leases run out by themselves
            logger.warning("Could not give up the channel leases", exc_info=True)
        for state in self._channels.values():
            state.leased_until = 0.0

    async def deliver_due(self) -> int:
        """One round: every channel's pending events, as far as each one takes them.

        Returns:
            How many events the channels acknowledged.

        """
        cursors = await self.service.store.channel_cursors()
        counts = await asyncio.gather(
            *(self._deliver_channel(url, cursor) for url, cursor in cursors.items())
        )
        return sum(counts)

    async def _run(self) -> None:
        while not self._closing:
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be back on the next round
                logger.exception("Delivering handover events failed")
            await self.service.wait_for_change(self._pause())

    def _pause(self) -> float:
        now = self._clock()
        waits = [
            state.next_try - now
            for state in self._channels.values()
            if state.next_try > now
        ]
        return max(0.05, min([self.poll_seconds, *waits]))

    async def _holds_lease(self, url: str, state: _Channel) -> bool:
        """Whether this replica may deliver `url`'s events now (renewing if due)."""
        now = self._clock()
        if state.leased_until - now > self.timeout_seconds + LEASE_MARGIN_SECONDS:
            return True
        if now < state.next_lease_try:
            return False
        if await self.service.store.take_channel_lease(
            url, self.replica_id, self.lease_seconds
        ):
            state.leased_until = now + self.lease_seconds
            return True
        # Not on every wake-up (another replica's events wake this one too).
        state.leased_until, state.next_lease_try = 0.0, now + self.poll_seconds
        return False

    async def _deliver_channel(self, url: str, cursor: int) -> int:
        state = self._channels.setdefault(url, _Channel())
        # Renewed during a back-off too: the channel is down, not this replica.
        if not await self._holds_lease(url, state):
            return 0
        if self._clock() < state.next_try:
            return 0
        state.done = {event_id for event_id in state.done if event_id > cursor}
        pending = await self.service.store.channel_events(url, cursor)
        delivered = 0
        for event, ticket in pending:
            if event.id in state.done:
                continue
            if customer_facing(event):
                if not await self._holds_lease(url, state):
                    break
                outcome = await self._post(url, event, ticket)
                if outcome is None:
                    self._failed(url, state)
                    break
                delivered += outcome
            state.done.add(event.id)
            state.failures, state.next_try = 0, 0.0
        settled = self._settled_cursor(pending, state.done, cursor)
        if settled > cursor:
            await self.service.store.advance_channel(url, settled)
        return delivered

    def _settled_cursor(
        self,
        pending: List[Tuple[LifecycleEvent, Ticket]],
        done: Set[int],
        cursor: int,
    ) -> int:
        """The furthest event id up to which everything is done and old enough."""
        horizon = self._clock() - self.settle_seconds
        for event, _ticket in pending:
            if event.id not in done or _timestamp(event.created_at) > horizon:
                break
            cursor = event.id
        return cursor

    async def _post(
        self, url: str, event: LifecycleEvent, ticket: Ticket
    ) -> Optional[int]:
        """POSTs one event: 1 acknowledged, 0 refused for good, None failed."""
        body = json.dumps(notification(as_notified(event), ticket), default=str).encode(
            "utf-8"
        )
        headers = {
            "Content-Type": "application/json",
            **sign("POST", url, body, self.key),
        }
        try:
            session = self._get_session()
            async with session.post(
                URL(url, encoded=True), data=body, headers=headers
            ) as response:
                if response.status < HTTP_REDIRECT:
                    return 1
                text = (await response.text())[:200]
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            logger.warning("Channel webhook %s unreachable: %s", url, error)
            return None
        if response.status in PERMANENT_REFUSALS:
            logger.error(
                "Channel webhook %s refused event %s (%s) for good: HTTP %s %s",
                url,
                event.id,
                event.type,
                response.status,
                text,
            )
            return 0
        logger.warning(
            "Channel webhook %s answered HTTP %s to event %s: %s",
            url,
            response.status,
            event.id,
            text,
        )
        return None

    def _failed(self, url: str, state: _Channel) -> None:
        state.failures += 1
        pause = min(
            self.backoff_seconds * 2 ** (state.failures - 1), MAX_BACKOFF_SECONDS
        )
        state.next_try = self._clock() + pause
        logger.warning(
            "Handover events for %s wait (failure %d); next try in %.1f s",
            url,
            state.failures,
            pause,
        )

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds)
            )
        return self._session


def default_replica_id() -> str:
    """`host:pid:random`: names a replica in the leases (and the logs)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _timestamp(moment: Optional[datetime]) -> float:
    if moment is None:
        return 0.0
    return moment.timestamp()

"""What a standalone inbox still owes each channel: a cursor per channel webhook.

The notifier (`rasa_handover.inbox.notifier`) delivers a channel's events from
the events table, oldest first, and moves the channel's cursor (the id of the
last event the channel acknowledged) forward. The cursor lives in the database,
so a restart of the inbox resumes where it stopped.

With several replicas, one at a time delivers a channel's events: the one
holding the lease on the channel's cursor row (`take_channel_lease`, a
conditional `UPDATE`: free, expired or already its own). It renews the lease
while it works; when it dies the lease runs out and another replica takes
over at the cursor.
"""

from datetime import timedelta
from typing import Dict, List, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from rasa_handover.inbox.contract import PAYLOAD_CALLBACK_URL
from rasa_handover.inbox.models import OPEN_STATUSES, LifecycleEvent, Ticket
from rasa_handover.inbox.store.base import StoreBase
from rasa_handover.inbox.store.rows import event_from_row
from rasa_handover.inbox.store.schema import (
    channel_cursors_table,
    events_table,
    tickets_table,
)

# Events read per channel and round.
DELIVERY_PAGE_SIZE = 100


def _channel_url_of_ticket() -> sa.sql.ColumnElement:
    """The webhook URL a ticket's channel put into its payload."""
    return tickets_table.c.payload[PAYLOAD_CALLBACK_URL].as_string()


class DeliveryStore(StoreBase):
    """The channels' cursors: their part of `InboxStore`."""

    async def ensure_channel(self, channel_url: str) -> None:
        """Starts a cursor for a channel webhook not seen before.

        Call it before the channel's first ticket is created: the cursor starts
        at the newest event, so the channel gets the events of its tickets from
        then on (and nothing older).
        """
        table = channel_cursors_table
        async with self.engine.connect() as conn:
            found = (
                await conn.execute(
                    sa.select(table.c.channel_url).where(
                        table.c.channel_url == channel_url
                    )
                )
            ).first()
        if found is not None:
            return
        latest = await self.latest_event_id()
        try:
            async with self._transaction() as conn:
                await conn.execute(
                    table.insert().values(
                        channel_url=channel_url,
                        last_event_id=latest,
                        updated_at=self.clock(),
                    )
                )
        except IntegrityError:
            pass  # Another request (or replica) started it first.

    async def channel_cursors(self) -> Dict[str, int]:
        """Every channel webhook with the id of its last acknowledged event."""
        table = channel_cursors_table
        async with self.engine.connect() as conn:
            query = sa.select(table.c.channel_url, table.c.last_event_id)
            rows = (await conn.execute(query)).all()
        return {str(row.channel_url): int(row.last_event_id) for row in rows}

    async def advance_channel(self, channel_url: str, event_id: int) -> None:
        """Moves a channel's cursor forward (never back) to `event_id`."""
        table = channel_cursors_table
        async with self._transaction() as conn:
            await conn.execute(
                table.update()
                .where(
                    table.c.channel_url == channel_url,
                    table.c.last_event_id < event_id,
                )
                .values(last_event_id=event_id, updated_at=self.clock())
            )

    async def take_channel_lease(
        self, channel_url: str, holder: str, seconds: float
    ) -> bool:
        """Takes or renews the right to deliver a channel's events.

        One conditional `UPDATE`: it succeeds when the lease is free, has run
        out (by this replica's clock) or is `holder`'s already, so of several
        replicas asking at once exactly one holds it.

        Args:
            channel_url: The channel's webhook.
            holder: This replica's id (`notifier.replica_id`).
            seconds: How long the lease lasts unless renewed.

        Returns:
            Whether `holder` holds the lease now.

        """
        table = channel_cursors_table
        now = self.clock()
        async with self._transaction() as conn:
            result = await conn.execute(
                table.update()
                .where(
                    table.c.channel_url == channel_url,
                    sa.or_(
                        table.c.leased_by.is_(None),
                        table.c.leased_by == holder,
                        table.c.lease_until.is_(None),
                        table.c.lease_until < now,
                    ),
                )
                .values(leased_by=holder, lease_until=now + timedelta(seconds=seconds))
            )
        return bool(result.rowcount == 1)

    async def release_channel_leases(self, holder: str) -> None:
        """Gives up `holder`'s leases (at shutdown: another replica takes over)."""
        table = channel_cursors_table
        async with self._transaction() as conn:
            await conn.execute(
                table.update()
                .where(table.c.leased_by == holder)
                .values(leased_by=None, lease_until=None)
            )

    async def channel_events(
        self, channel_url: str, after_id: int, limit: int = DELIVERY_PAGE_SIZE
    ) -> List[Tuple[LifecycleEvent, Ticket]]:
        """The events of a channel's tickets after `after_id`, oldest first.

        Args:
            channel_url: The channel's webhook (the tickets' payload names it).
            after_id: The channel's cursor.
            limit: At most this many.

        Returns:
            Each event with its ticket as it is now.

        """
        events, tickets = events_table, tickets_table
        query = (
            sa.select(events)
            .join(tickets, tickets.c.id == events.c.ticket_id)
            .where(events.c.id > after_id, _channel_url_of_ticket() == channel_url)
            .order_by(events.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        found = [event_from_row(row) for row in rows]
        if not found:
            return []
        ticket_ids = {event.ticket_id for event in found}
        by_id = {
            ticket.id: ticket
            for ticket in await self._tickets(tickets.c.id.in_(list(ticket_ids)))
        }
        return [(event, by_id[event.ticket_id]) for event in found]

    async def open_ticket_channels(self) -> Set[str]:
        """The webhooks named by open tickets (of versions before the cursors too)."""
        url = _channel_url_of_ticket()
        query = (
            sa.select(url)
            .where(tickets_table.c.status.in_(list(OPEN_STATUSES)), url.isnot(None))
            .distinct()
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {str(row[0]) for row in rows if row[0]}

"""What every part of the store shares.

The engine, write transactions, ticket lookups, appending lifecycle events, the
result of a state change.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rasa_handover.inbox.config import DEFAULT_DB_URL
from rasa_handover.inbox.errors import NotFoundError
from rasa_handover.inbox.models import (
    STATUS_WAITING,
    LifecycleEvent,
    Ticket,
    TicketMessage,
)
from rasa_handover.inbox.store.changes import announce_change, change_channel
from rasa_handover.inbox.store.engine import create_engine, is_sqlite, to_async_url
from rasa_handover.inbox.store.migrations import SCHEMA_VERSION, migrate
from rasa_handover.inbox.store.rows import ticket_from_row
from rasa_handover.inbox.store.schema import agents_table, events_table, tickets_table

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """The result of a state change.

    Attributes:
        ticket: The ticket after the change.
        event: The lifecycle event it caused; None when the call changed nothing
            (e.g. an agent claiming a ticket they already hold).
        message: The stored message, for `add_message`.

    """

    ticket: Ticket
    event: Optional[LifecycleEvent]
    message: Optional[TicketMessage] = None


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the store's clock by default)."""
    return datetime.now(timezone.utc)


class StoreBase:
    """The connection, transactions and the lookups every part of the store uses.

    Call `await create_all()` once before use and `await close()` at shutdown.
    """

    def __init__(
        self,
        url: str = DEFAULT_DB_URL,
        schema: Optional[str] = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Creates the store (no connection is made until first use).

        Args:
            url: Database URL; plain `sqlite:`/`postgresql:` URLs are converted to
                their async drivers.
            schema: PostgreSQL schema for the tables (default: the search path).
            clock: Returns the current UTC time; tests pass a fake one.

        """
        self.url = to_async_url(url)
        self.clock = clock
        self.engine: AsyncEngine = create_engine(self.url, schema)
        # SQLite has one writer at a time. Queueing writers here, in the event
        # loop, instead of in SQLite's busy wait keeps a burst of concurrent
        # writes (1000 conversations at once) from failing with "database is
        # locked". PostgreSQL needs no such lock.
        self._write_lock: Optional[asyncio.Lock] = None
        self._serialise_writes = is_sqlite(self.url)
        # PostgreSQL: where new events are announced to every replica.
        self.change_channel = None if is_sqlite(self.url) else change_channel(schema)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (serialised per process on SQLite)."""
        if not self._serialise_writes:
            async with self.engine.begin() as conn:
                yield conn
            return
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock, self.engine.begin() as conn:
            yield conn

    async def create_all(self) -> int:
        """Creates the tables, or migrates them to this code's schema version.

        Safe to call on every start, by several replicas at once: the migration
        runs once, under a lock (`migrations.migrate`).

        Returns:
            The schema version the database had (0: it was new).

        Raises:
            SchemaVersionError: The database is newer than this code.

        """
        async with self._transaction() as conn:
            found = await conn.run_sync(migrate)
        if 0 < found < SCHEMA_VERSION:
            logger.info(
                "Migrated the inbox database from schema version %d to %d.",
                found,
                SCHEMA_VERSION,
            )
        return int(found)

    async def close(self) -> None:
        """Closes every pooled connection."""
        await self.engine.dispose()

    async def latest_event_id(self) -> int:
        """The id of the newest event (0 when there is none)."""
        async with self.engine.connect() as conn:
            latest = (
                await conn.execute(sa.select(sa.func.max(events_table.c.id)))
            ).scalar()
        return int(latest or 0)

    async def get_ticket(self, ticket_id: int) -> Optional[Ticket]:
        """The ticket (with its current queue position), or None."""
        tickets = await self._tickets(tickets_table.c.id == ticket_id)
        return tickets[0] if tickets else None

    async def require_ticket(self, ticket_id: int) -> Ticket:
        """Like `get_ticket`, but raises `NotFoundError` for an unknown id."""
        ticket = await self.get_ticket(ticket_id)
        if ticket is None:
            raise NotFoundError(f"unknown ticket {ticket_id}", "ticket_id")
        return ticket

    async def _tickets(self, condition: Any) -> List[Ticket]:
        query = sa.select(tickets_table).where(condition).order_by(tickets_table.c.id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            positions = await self._queue_positions(conn, rows)
        return [ticket_from_row(row, positions.get(row.id)) for row in rows]

    async def _ticket_in(
        self, conn: AsyncConnection, ticket_id: int
    ) -> Optional[Ticket]:
        row = (
            await conn.execute(
                sa.select(tickets_table).where(tickets_table.c.id == ticket_id)
            )
        ).first()
        return ticket_from_row(row, None) if row is not None else None

    async def _queue_positions(
        self, conn: AsyncConnection, rows: Sequence[Row]
    ) -> Dict[int, int]:
        """1-based positions of the waiting tickets among `rows` in their teams."""
        teams = {row.team for row in rows if row.status == STATUS_WAITING}
        if not teams:
            return {}
        table = tickets_table
        waiting = (
            await conn.execute(
                sa.select(table.c.id, table.c.team)
                .where(table.c.status == STATUS_WAITING, table.c.team.in_(teams))
                .order_by(table.c.id)
            )
        ).all()
        positions: Dict[int, int] = {}
        counters: Dict[str, int] = {}
        for row in waiting:
            counters[row.team] = counters.get(row.team, 0) + 1
            positions[row.id] = counters[row.team]
        return positions

    async def _append_event(
        self,
        conn: AsyncConnection,
        ticket_id: int,
        event_type: str,
        data: Dict[str, Any],
    ) -> LifecycleEvent:
        now = self.clock()
        insert = events_table.insert().values(
            ticket_id=ticket_id, type=event_type, data=data, created_at=now
        )
        if self.change_channel is not None:
            # In the same statement: no extra round trip (`store.changes`).
            insert = insert.returning(
                events_table.c.id, announce_change(self.change_channel)
            )
            event_id = (await conn.execute(insert)).scalar_one()
        else:
            event_id = (await conn.execute(insert)).inserted_primary_key[0]
        return LifecycleEvent(
            id=int(event_id),
            ticket_id=ticket_id,
            type=event_type,
            data=data,
            created_at=now,
        )

    async def _name(
        self, conn: AsyncConnection, agent_id: Optional[str]
    ) -> Optional[str]:
        if agent_id is None:
            return None
        name = (
            await conn.execute(
                sa.select(agents_table.c.name).where(agents_table.c.id == agent_id)
            )
        ).scalar()
        return str(name) if name is not None else None

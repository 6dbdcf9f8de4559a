"""What every part of the store shares.

The engine, write transactions, ticket lookups, appending lifecycle events, the
result of a state change.
"""

import asyncio
import contextlib
import functools
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import (
    Any,
    AsyncIterator,
    Callable,
    Dict,
    FrozenSet,
    List,
    Optional,
    Sequence,
    TypeVar,
)

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
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
from rasa_handover.inbox.store.engine import (
    create_engine,
    is_sqlite,
    sqlite_file_url,
    to_async_url,
)
from rasa_handover.inbox.store.group_commit import GroupCommit, Write
from rasa_handover.inbox.store.migrations import (
    SCHEMA_VERSION,
    SchemaVersionError,
    migrate,
)
from rasa_handover.inbox.store.rows import ticket_from_row
from rasa_handover.inbox.store.schema import agents_table, events_table, tickets_table

logger = logging.getLogger(__name__)

T = TypeVar("T")
# The stores (by id) whose write turn this task holds; tasks it starts inherit
# it, so a read in a `gather` or `wait_for` inside `_transaction` knows too.
_WRITE_TURNS: ContextVar[FrozenSet[int]] = ContextVar(
    "handover_write_turns", default=frozenset()
)


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
        # The hot path's writes (`_write`) on an SQLite file: many callers'
        # writes in one transaction (`group_commit`).
        sync_url = sqlite_file_url(self.url)
        self._group_commit: Optional[GroupCommit] = None
        if sync_url is not None:
            self._group_commit = GroupCommit(sync_url, self._exclusive)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (serialised per process on SQLite)."""
        async with self._exclusive(), self.engine.begin() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        """Holds the turn to write of this process (SQLite; PostgreSQL needs none)."""
        if not self._serialise_writes:
            yield
            return
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock:
            token = _WRITE_TURNS.set(_WRITE_TURNS.get() | {id(self)})
            try:
                yield
            finally:
                _WRITE_TURNS.reset(token)

    async def _write(self, write: Write[T]) -> T:
        """Runs a synchronous write in a transaction; returns its result.

        On an SQLite file the write joins the next group commit (one
        transaction for every write queued meanwhile, see `group_commit`);
        elsewhere it gets a transaction of its own. Either way it has been
        committed when this returns.
        """
        if self._group_commit is not None:
            return await self._group_commit.submit(write)
        async with self._transaction() as conn:
            return await conn.run_sync(write)

    async def create_all(self) -> int:
        """Creates the tables, or migrates them to this code's schema version.

        Safe to call on every start, by several replicas at once: the migration
        runs once, under a lock (`migrations.migrate`).

        Returns:
            The schema version the database had (0: it was new).

        Raises:
            SchemaVersionError: The database is newer than this code. The
                store is closed then: its pooled connections (each an
                aiosqlite thread on SQLite) would keep the process from exiting.

        """
        try:
            async with self._transaction() as conn:
                found = await conn.run_sync(migrate)
        except SchemaVersionError:
            await self.close()
            raise
        if 0 < found < SCHEMA_VERSION:
            logger.info(
                "Migrated the inbox database from schema version %d to %d.",
                found,
                SCHEMA_VERSION,
            )
        return int(found)

    async def close(self) -> None:
        """Commits the writes still queued; closes every pooled connection."""
        if self._group_commit is not None:
            await self._group_commit.close()
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
        tickets = await self._tickets(TICKET_BY_ID, {"ticket_id": ticket_id})
        return tickets[0] if tickets else None

    async def require_ticket(self, ticket_id: int) -> Ticket:
        """Like `get_ticket`, but raises `NotFoundError` for an unknown id."""
        ticket = await self.get_ticket(ticket_id)
        if ticket is None:
            raise NotFoundError(f"unknown ticket {ticket_id}", "ticket_id")
        return ticket

    async def _tickets(
        self, condition: Any, parameters: Optional[Dict[str, Any]] = None
    ) -> List[Ticket]:
        return await self._read(
            functools.partial(
                select_tickets, condition=condition, parameters=parameters
            )
        )

    async def _read(self, read: Write[T]) -> T:
        """Runs a synchronous read; returns its result.

        On an SQLite file it joins the next group commit: one thread hop for
        the batch instead of several per statement through aiosqlite. A read
        made while this task holds the write turn (inside `_transaction`) uses
        a connection of its own instead, as the batch waits for that turn.
        """
        if self._group_commit is not None and not self._holds_write_turn():
            return await self._group_commit.submit(read, reads_only=True)
        async with self.engine.connect() as conn:
            if not self._serialise_writes:
                # No BEGIN / ROLLBACK around a read on PostgreSQL: two round
                # trips fewer; READ COMMITTED gives each statement its own
                # snapshot either way. (Not on SQLite: pysqlite commits an
                # open transaction when its isolation level changes, and an
                # in-memory database shares one connection.)
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await conn.run_sync(read)

    def _holds_write_turn(self) -> bool:
        """Whether this task (or the one that started it) holds the write turn."""
        return id(self) in _WRITE_TURNS.get()

    async def _ticket_in(
        self, conn: AsyncConnection, ticket_id: int
    ) -> Optional[Ticket]:
        row = (
            await conn.execute(
                sa.select(tickets_table).where(tickets_table.c.id == ticket_id)
            )
        ).first()
        return ticket_from_row(row, None) if row is not None else None

    async def _append_event(
        self,
        conn: AsyncConnection,
        ticket_id: int,
        event_type: str,
        data: Dict[str, Any],
    ) -> LifecycleEvent:
        return await conn.run_sync(
            append_event,
            self.clock(),
            ticket_id,
            event_type,
            data,
            self.change_channel,
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


def select_tickets(
    conn: Connection, condition: Any, parameters: Optional[Dict[str, Any]] = None
) -> List[Ticket]:
    """The tickets matching `condition`, by id, waiting ones with their position.

    Args:
        conn: The connection.
        condition: A `WHERE` clause; on a hot path, one built once with
            `sa.bindparam`s (SQLAlchemy then skips most of its per-call work).
        parameters: The values of those bind parameters.

    """
    query = sa.select(tickets_table).where(condition).order_by(tickets_table.c.id)
    rows = conn.execute(query, parameters or {}).all()
    positions = _queue_positions(conn, rows)
    return [ticket_from_row(row, positions.get(row.id)) for row in rows]


def _queue_positions(conn: Connection, rows: Sequence[Row]) -> Dict[int, int]:
    """1-based positions of the waiting tickets among `rows` in their teams."""
    teams = {row.team for row in rows if row.status == STATUS_WAITING}
    if not teams:
        return {}
    table = tickets_table
    waiting = conn.execute(
        sa.select(table.c.id, table.c.team)
        .where(table.c.status == STATUS_WAITING, table.c.team.in_(teams))
        .order_by(table.c.id)
    ).all()
    positions: Dict[int, int] = {}
    counters: Dict[str, int] = {}
    for row in waiting:
        counters[row.team] = counters.get(row.team, 0) + 1
        positions[row.id] = counters[row.team]
    return positions


_INSERT_EVENT = events_table.insert()
# Built once (see `select_tickets`): `{"ticket_id": ...}`.
TICKET_BY_ID = tickets_table.c.id == sa.bindparam("ticket_id")


def append_event(
    conn: Connection,
    now: datetime,
    ticket_id: int,
    event_type: str,
    data: Dict[str, Any],
    change_channel: Optional[str] = None,
) -> LifecycleEvent:
    """Appends a lifecycle event to a ticket (in the caller's transaction).

    With a `change_channel` (PostgreSQL), the same statement announces the
    event to every replica (`store.changes`), when the transaction commits.
    """
    values = {
        "ticket_id": ticket_id,
        "type": event_type,
        "data": data,
        "created_at": now,
    }
    if change_channel is not None:
        insert = _INSERT_EVENT.returning(
            events_table.c.id, announce_change(change_channel)
        )
        event_id = conn.execute(insert, values).scalar_one()
    else:
        event_id = conn.execute(_INSERT_EVENT, values).inserted_primary_key[0]
    return LifecycleEvent(
        id=int(event_id),
        ticket_id=ticket_id,
        type=event_type,
        data=data,
        created_at=now,
    )

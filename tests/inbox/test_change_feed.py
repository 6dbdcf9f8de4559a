"""Other replicas' events wake this replica at once (PostgreSQL LISTEN/NOTIFY).

Two `InboxStore`s on one PostgreSQL schema stand for two replicas; the feed
of one hears the events the other writes, and only when they are committed.
Real processes: tests/e2e/test_inbox_replicas.py.
"""

import asyncio
from typing import AsyncIterator, List, Tuple

import pytest

from rasa_handover.inbox.change_feed import ChangeFeed, asyncpg_dsn
from rasa_handover.inbox.store import InboxStore
from rasa_handover.inbox.store.changes import change_channel
from tests.inbox.conftest import PostgresSchemas, postgres_url, requires_postgres

WAIT_SECONDS = 30.0


class Wakes:
    """Counts `on_change` calls; lets a test wait for the next one."""

    def __init__(self) -> None:
        self.count = 0
        self.woken = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.woken.set()

    async def next(self) -> None:
        await asyncio.wait_for(self.woken.wait(), WAIT_SECONDS)
        self.woken.clear()


@pytest.fixture
async def replicas() -> AsyncIterator[Tuple[InboxStore, InboxStore]]:
    url = postgres_url()
    if url is None:
        pytest.skip("needs PostgreSQL")
    schemas = PostgresSchemas(url)
    schema = await schemas.new()
    pair = (InboxStore(url, schema=schema), InboxStore(url, schema=schema))
    await pair[0].create_all()
    yield pair
    for store in pair:
        await store.close()
    await schemas.drop_all()


@requires_postgres
async def test_an_event_written_by_another_replica_wakes_the_feed(
    replicas: Tuple[InboxStore, InboxStore],
) -> None:
    here, there = replicas
    wakes = Wakes()
    feed = ChangeFeed(here, wakes)
    await feed.start()
    try:
        assert feed.listening is not None
        await asyncio.wait_for(feed.listening.wait(), WAIT_SECONDS)
        await there.create_ticket("conv-elsewhere", 1, {})
        await wakes.next()
    finally:
        await feed.close()


@requires_postgres
async def test_an_event_rolled_back_wakes_nobody(
    replicas: Tuple[InboxStore, InboxStore],
) -> None:
    here, there = replicas
    wakes = Wakes()
    feed = ChangeFeed(here, wakes)
    await feed.start()
    try:
        assert feed.listening is not None
        await asyncio.wait_for(feed.listening.wait(), WAIT_SECONDS)
        with pytest.raises(RuntimeError):
            async with there._transaction() as conn:
                ticket, _ = await there.create_ticket("conv-committed", 1, {})
                await there._append_event(conn, ticket.id, "note", {})
                raise RuntimeError("rolled back")
        await wakes.next()  # the ticket's own event, committed
        seen = wakes.count
        await asyncio.sleep(1.0)  # time for a (wrong) second notification
        assert wakes.count == seen
    finally:
        await feed.close()


def test_channels_differ_per_schema_and_fit_postgresql() -> None:
    names: List[str] = [change_channel(None), change_channel("a"), change_channel("b")]
    assert len(set(names)) == 3
    assert len(change_channel("x" * 200).encode()) <= 63


def test_the_asyncpg_url_keeps_the_password() -> None:
    dsn = asyncpg_dsn("postgresql+asyncpg://handover:s3cret@db:5433/inbox")
    assert dsn == "postgresql://handover:s3cret@db:5433/inbox"

"""Values used once across replicas (`store.replay`), on SQLite and PostgreSQL.

Two `InboxStore`s on one database stand for two inbox replicas; the
real-process version (two `rasa-handover inbox` processes) is in
tests/e2e/test_inbox_replicas.py.
"""

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from rasa_handover.inbox.store import InboxStore
from rasa_handover.inbox.store.replay import (
    PRUNE_EVERY,
    USED_SIGNATURE_NONCE,
    USED_STREAM_TICKET,
)
from rasa_handover.inbox.store.schema import used_once_table
from tests.inbox.conftest import (
    FakeClock,
    PostgresSchemas,
    postgres_url,
    requires_postgres,
)


async def test_a_value_is_used_once_per_kind(
    store: InboxStore, clock: FakeClock
) -> None:
    until = clock() + timedelta(minutes=5)
    assert await store.use_once(USED_SIGNATURE_NONCE, "nonce-1", until)
    assert not await store.use_once(USED_SIGNATURE_NONCE, "nonce-1", until)
    # Another kind is another namespace.
    assert await store.use_once(USED_STREAM_TICKET, "nonce-1", until)


async def test_expired_values_are_pruned(store: InboxStore, clock: FakeClock) -> None:
    assert await store.use_once(
        USED_SIGNATURE_NONCE, "old", clock() + timedelta(seconds=1)
    )
    assert await store.use_once(
        USED_SIGNATURE_NONCE, "fresh", clock() + timedelta(hours=1)
    )
    clock.advance(PRUNE_EVERY.total_seconds() + 2)
    assert await store.use_once(
        USED_SIGNATURE_NONCE, "new", clock() + timedelta(hours=1)
    )
    async with store.engine.connect() as conn:
        left = (await conn.execute(sa.select(used_once_table.c.value))).scalars().all()
    assert sorted(left) == ["fresh", "new"]


@requires_postgres
async def test_of_two_replicas_using_one_nonce_at_once_exactly_one_wins(
    clock: FakeClock,
) -> None:
    url = postgres_url()
    assert url is not None
    schemas = PostgresSchemas(url)
    schema = await schemas.new()
    replicas = [InboxStore(url, schema=schema, clock=clock) for _ in range(2)]
    try:
        await replicas[0].create_all()
        until = clock() + timedelta(minutes=5)
        for round_number in range(20):
            nonce = f"raced-{round_number}"
            results = await asyncio.gather(
                *(
                    replica.use_once(USED_SIGNATURE_NONCE, nonce, until)
                    for replica in replicas
                    for _ in range(3)
                )
            )
            assert sorted(results) == [False] * 5 + [True]
    finally:
        for replica in replicas:
            await replica.close()
        await schemas.drop_all()

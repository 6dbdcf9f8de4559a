"""The schema version: new databases, adopting version 1, 64-bit ids, client
message ids (version 3), a newer version refused, and replicas migrating one
database at once (real processes)."""

import asyncio
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import AsyncIterator, Dict, List, Optional, Tuple

import pytest
import sqlalchemy as sa

from rasa_handover.inbox.store import SCHEMA_VERSION, InboxStore, SchemaVersionError
from rasa_handover.inbox.store.migrations import MIGRATIONS
from rasa_handover.inbox.store.schema import metadata, schema_version_table
from tests.e2e.servers import free_port
from tests.inbox.conftest import (
    POSTGRES_SKIP_REASON,
    PostgresSchemas,
    postgres_url,
)

DATA = Path(__file__).parent / "data"
PAYLOAD = {"summary": {"text": "Customer wants a refund."}}
# Past what a 32-bit id holds (the version 1 columns on PostgreSQL).
BEYOND_32_BITS = 2**31 + 7

Database = Tuple[str, Optional[str]]


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Database]:
    """An empty database: (url, schema), on a SQLite file or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'inbox.db'}", None
        return
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    schemas = PostgresSchemas(url)
    try:
        yield url, await schemas.new()
    finally:
        await schemas.drop_all()


async def make_version_1(url: str, schema: Optional[str]) -> None:
    """The tables as version 1 created them (its `metadata.create_all`, saved)."""
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    sql = (DATA / f"schema_v1_{dialect}.sql").read_text()
    statements = [s for s in sql.split(";\n") if s.strip().strip("-").strip()]
    store = InboxStore(url)
    try:
        async with store.engine.begin() as conn:
            if schema:
                await conn.execute(sa.text(f'SET LOCAL search_path TO "{schema}"'))
            for statement in statements:
                lines = [x for x in statement.splitlines() if not x.startswith("--")]
                await conn.execute(sa.text("\n".join(lines)))
    finally:
        await store.close()


async def column_types(store: InboxStore) -> Dict[str, str]:
    """`table.column` -> its type as the database reports it."""

    def read(conn: sa.engine.Connection) -> Dict[str, str]:
        translate = conn.get_execution_options().get("schema_translate_map", {})
        schema = translate.get(None)
        inspector = sa.inspect(conn)
        return {
            f"{table.name}.{column['name']}": str(column["type"])
            for table in metadata.sorted_tables
            for column in inspector.get_columns(table.name, schema)
        }

    async with store.engine.connect() as conn:
        return await conn.run_sync(read)


async def stored_version(store: InboxStore) -> list:
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.select(schema_version_table.c.version))
        return [row.version for row in rows]


async def test_a_new_database_gets_the_current_version(database: Database) -> None:
    url, schema = database
    store = InboxStore(url, schema=schema)
    try:
        first = await store.create_all()
        second = await store.create_all()
        versions = await stored_version(store)
    finally:
        await store.close()

    assert (first, second, versions) == (0, SCHEMA_VERSION, [SCHEMA_VERSION])


async def test_a_version_1_database_is_adopted_with_its_data(
    database: Database,
) -> None:
    url, schema = database
    await make_version_1(url, schema)
    old = InboxStore(url, schema=schema)  # Writes as version 1 did: no create_all.
    await old.upsert_agent("ann", "Ann", "token-ann")
    ticket, _ = await old.create_ticket("conv-1", 1, PAYLOAD)
    await old.add_message(ticket.id, "customer", "Where is my refund?")
    await old.ensure_channel("http://channel.example/events")
    await old.close()

    store = InboxStore(url, schema=schema)
    try:
        found = await store.create_all()
        kept = await store.require_ticket(ticket.id)
        messages = await store.messages(ticket.id)
        claimed = await store.claim(ticket.id, "ann")
        later, _ = await store.create_ticket("conv-2", 1, PAYLOAD)
        versions = await stored_version(store)
    finally:
        await store.close()

    assert found == 1
    assert versions == [SCHEMA_VERSION]
    assert (kept.conversation_id, kept.payload) == ("conv-1", PAYLOAD)
    assert [m.text for m in messages] == ["Where is my refund?"]
    assert claimed.ticket.agent_id == "ann"
    assert later.id > ticket.id


async def test_a_migrated_database_has_the_tables_a_new_one_has(
    database: Database, tmp_path: Path
) -> None:
    url, schema = database
    await make_version_1(url, schema)
    migrated = InboxStore(url, schema=schema)
    await migrated.create_all()
    if schema is None:
        fresh = InboxStore(f"sqlite:///{tmp_path / 'fresh.db'}")
    else:
        schemas = PostgresSchemas(url)
        fresh = InboxStore(url, schema=await schemas.new())
    await fresh.create_all()
    try:
        assert await column_types(migrated) == await column_types(fresh)
    finally:
        await migrated.close()
        await fresh.close()
        if schema is not None:
            await schemas.drop_all()


async def test_ids_past_32_bits_after_the_migration_on_postgresql(
    pg_schemas: PostgresSchemas,
) -> None:
    # On SQLite an INTEGER has always been 64-bit.
    url, schema = pg_schemas.url, await pg_schemas.new()
    await make_version_1(url, schema)
    store = InboxStore(url, schema=schema)
    try:
        await store.create_all()
        async with store.engine.begin() as conn:
            for table in ("handover_tickets", "handover_messages", "handover_events"):
                await conn.execute(
                    sa.text(
                        f'ALTER SEQUENCE "{schema}".{table}_id_seq '
                        f"RESTART WITH {BEYOND_32_BITS}"
                    )
                )
        ticket, _ = await store.create_ticket("conv-1", BEYOND_32_BITS, PAYLOAD)
        message = (await store.add_message(ticket.id, "customer", "hi")).message
        event_id = await store.latest_event_id()
        await store.ensure_channel("http://channel.example/events")
        await store.advance_channel("http://channel.example/events", event_id)
        cursors = await store.channel_cursors()
        found = await store.get_ticket(ticket.id)
    finally:
        await store.close()

    assert (ticket.id, ticket.attempt) == (BEYOND_32_BITS, BEYOND_32_BITS)
    assert message is not None and message.id == BEYOND_32_BITS
    assert event_id > BEYOND_32_BITS  # The ticket's and the message's events.
    assert cursors == {"http://channel.example/events": event_id}
    assert found is not None and found.id == BEYOND_32_BITS


async def make_version_2(url: str, schema: Optional[str]) -> None:
    """The tables as version 2 left them: version 1's, migrated, version recorded."""
    await make_version_1(url, schema)
    store = InboxStore(url, schema=schema)
    try:
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda sync: MIGRATIONS[2](sync, schema))
            await conn.run_sync(lambda sync: schema_version_table.create(sync))
            await conn.execute(schema_version_table.insert().values(version=2))
    finally:
        await store.close()


async def message_indexes(store: InboxStore) -> List[Tuple[str, Tuple[str, ...], bool]]:
    """The messages table's indexes: (name, columns, unique)."""

    def read(conn: sa.engine.Connection) -> List[Tuple[str, Tuple[str, ...], bool]]:
        schema = conn.get_execution_options().get("schema_translate_map", {}).get(None)
        indexes = sa.inspect(conn).get_indexes("handover_messages", schema)
        return sorted(
            (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in indexes
        )

    async with store.engine.connect() as conn:
        return await conn.run_sync(read)


async def test_version_2_gets_client_message_ids_and_keeps_its_messages(
    database: Database, tmp_path: Path
) -> None:
    url, schema = database
    await make_version_2(url, schema)
    old = InboxStore(url, schema=schema)  # Writes as version 2 did: no key column.
    ticket, _ = await old.create_ticket("conv-1", 1, PAYLOAD)
    for text in ("Where is my refund?", "Where is my refund?"):
        await old.add_message(ticket.id, "customer", text)
    await old.add_message(ticket.id, "agent", "Looking now.", "Ann")
    await old.close()

    store = InboxStore(url, schema=schema)
    try:
        found = await store.create_all()
        kept = await store.messages(ticket.id)
        for _ in range(2):
            await store.add_customer_message("conv-1", "It was 40 dollars.", "key-1")
        after = await store.messages(ticket.id)
        versions = await stored_version(store)
        migrated_indexes = await message_indexes(store)
    finally:
        await store.close()
    fresh = InboxStore(f"sqlite:///{tmp_path / 'fresh.db'}")
    if schema is not None:
        schemas = PostgresSchemas(url)
        fresh = InboxStore(url, schema=await schemas.new())
    try:
        await fresh.create_all()
        fresh_indexes = await message_indexes(fresh)
    finally:
        await fresh.close()
        if schema is not None:
            await schemas.drop_all()

    assert (found, versions) == (2, [SCHEMA_VERSION])
    assert [(m.text, m.client_message_id) for m in kept] == [
        ("Where is my refund?", None),
        ("Where is my refund?", None),
        ("Looking now.", None),
    ]
    assert [m.text for m in after[3:]] == ["It was 40 dollars."]
    assert after[3].client_message_id == "key-1"
    assert migrated_indexes == fresh_indexes
    assert (
        "uq_handover_messages_client_id",
        ("ticket_id", "client_message_id"),
        True,
    ) in migrated_indexes


async def test_a_newer_schema_version_is_refused(database: Database) -> None:
    url, schema = database
    newer = SCHEMA_VERSION + 1
    store = InboxStore(url, schema=schema)
    try:
        await store.create_all()
        async with store.engine.begin() as conn:
            await conn.execute(schema_version_table.update().values(version=newer))
        with pytest.raises(SchemaVersionError) as refused:
            await store.create_all()
        versions = await stored_version(store)
    finally:
        await store.close()

    message = str(refused.value)
    assert f"schema version {newer}" in message
    assert f"up to {SCHEMA_VERSION}" in message
    assert "Upgrade rasa-handover" in message
    assert versions == [newer]  # Untouched.


# --- Replicas starting at once (real processes). ----------------------------------

REPLICAS = 4

# One replica's start: waits for the gate file, then migrates; prints the
# version it found (0: it created the tables).
REPLICA_SCRIPT = """
import asyncio, os, sys, time
from rasa_handover.inbox.store import InboxStore

url, schema, gate = sys.argv[1], sys.argv[2] or None, sys.argv[3]

async def main():
    store = InboxStore(url, schema=schema)
    try:
        print(await store.create_all())
    finally:
        await store.close()

while not os.path.exists(gate):
    time.sleep(0.01)
asyncio.run(main())
"""


async def test_replicas_starting_at_once_migrate_once(
    database: Database, tmp_path: Path
) -> None:
    url, schema = database
    gate = tmp_path / "go"
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA_SCRIPT, url, schema or "", str(gate)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(REPLICAS)
    ]
    await asyncio.sleep(2.0)  # Let every interpreter start and wait at the gate.
    gate.touch()
    results = [replica.communicate(timeout=120) for replica in replicas]

    assert [replica.returncode for replica in replicas] == [0] * REPLICAS, results
    found = sorted(int(out.strip()) for out, _ in results)
    assert found == [0] + [SCHEMA_VERSION] * (REPLICAS - 1)
    store = InboxStore(url, schema=schema)
    try:
        assert await stored_version(store) == [SCHEMA_VERSION]
    finally:
        await store.close()


async def test_a_new_file_another_process_is_writing_to_waits_for_it(
    tmp_path: Path,
) -> None:
    """The race behind the replicas test's rare "database is locked".

    A new SQLite file keeps the rollback journal until its first write; while
    another connection writes to it, switching it to WAL fails at once, not
    after busy_timeout. The store must wait for the writer instead.
    """
    path = tmp_path / "inbox.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE other_replica (x)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO other_replica VALUES (1)")
    committed = threading.Timer(0.5, writer.execute, ["COMMIT"])
    committed.start()
    store = InboxStore(f"sqlite:///{path}")
    try:
        assert await store.create_all() == 0
        assert await stored_version(store) == [SCHEMA_VERSION]
    finally:
        committed.join()
        writer.close()
        await store.close()
    with sqlite3.connect(path) as reader:
        assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_the_standalone_inbox_refuses_a_newer_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    store = InboxStore(url)
    await store.create_all()
    async with store.engine.begin() as conn:
        await conn.execute(
            schema_version_table.update().values(version=SCHEMA_VERSION + 1)
        )
    await store.close()

    address = ["--host", "127.0.0.1", "--port", str(free_port())]
    started = subprocess.run(
        [sys.executable, "-m", "rasa_handover.inbox", "--db", url, *address],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert started.returncode == 2, started.stderr[-2000:]
    assert (
        f"rasa-handover inbox: the inbox database has schema version "
        f"{SCHEMA_VERSION + 1}" in started.stderr
    )

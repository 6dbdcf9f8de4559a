"""The schema's version and the numbered migrations that bring a database to it.

Every start calls `migrate` in one transaction, under a lock that holds across
processes (PostgreSQL: an advisory lock per schema; SQLite: `BEGIN IMMEDIATE`),
so replicas starting at once migrate the database exactly once: the first one
migrates, the others wait and then find it current.

* A new database gets the current tables and `SCHEMA_VERSION`.
* A database of version 1 made before versions were recorded (the inbox's tables
  but no `handover_schema_version`) is adopted as version 1, then migrated.
* A database of version N runs `MIGRATIONS[N + 1]`, ... in order.
* A newer version than this code knows is refused (`SchemaVersionError`).

Within a version, columns added since are nullable and added by
`add_missing_columns`; a migration is for anything else (a changed type, a
unique index).
"""

import hashlib
from typing import Callable, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rasa_handover.inbox.store.schema import (
    metadata,
    schema_version_table,
    tickets_table,
)

Migration = Callable[[Connection, Optional[str]], None]


class SchemaVersionError(RuntimeError):
    """The database's schema is newer than this version of rasa-handover."""


def _v2_64_bit_ids(conn: Connection, schema: Optional[str]) -> None:
    """Version 2: ticket, message and event ids are 64-bit on PostgreSQL.

    On SQLite an INTEGER is 64-bit already: nothing to do.
    """
    if conn.dialect.name != "postgresql":
        return
    # Named here, not read from `schema`: a migration is history, fixed.
    columns = {
        "handover_tickets": ("id", "attempt"),
        "handover_messages": ("id", "ticket_id"),
        "handover_events": ("id", "ticket_id"),
        "handover_channel_cursors": ("last_event_id",),
    }
    quote = conn.dialect.identifier_preparer.quote
    for table, names in columns.items():
        changes = ", ".join(f"ALTER COLUMN {quote(n)} TYPE BIGINT" for n in names)
        target = _qualified(conn, table, schema)
        conn.execute(sa.text(f"ALTER TABLE {target} {changes}"))
    for table in ("handover_tickets", "handover_messages", "handover_events"):
        sequence = conn.execute(
            sa.text("SELECT pg_get_serial_sequence(:table, 'id')"),
            {"table": _qualified(conn, table, schema)},
        ).scalar()
        if sequence:
            # Its maximum, 2**31 - 1 for a SERIAL, becomes 2**63 - 1.
            conn.execute(sa.text(f"ALTER SEQUENCE {sequence} AS BIGINT"))


def _v3_client_message_ids(conn: Connection, schema: Optional[str]) -> None:
    """Version 3: a message's client id, unique per ticket (stored once on retry).

    Old rows keep no id (NULL), which never collides: no existing row needs a
    change, and the index builds on any data version 2 allowed.
    """
    table = "handover_messages"
    present = {c["name"] for c in sa.inspect(conn).get_columns(table, schema)}
    if "client_message_id" not in present:
        conn.execute(
            sa.text(
                f"ALTER TABLE {_qualified(conn, table, schema)} "
                "ADD COLUMN client_message_id VARCHAR(128)"
            )
        )
    conn.execute(
        sa.text(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_handover_messages_client_id "
            f"ON {_qualified(conn, table, schema)} (ticket_id, client_message_id)"
        )
    )


# Version N's migration is MIGRATIONS[N]: it turns version N - 1 into N.
MIGRATIONS: Dict[int, Migration] = {
    2: _v2_64_bit_ids,
    3: _v3_client_message_ids,
}

# The version `metadata` describes: the one `migrate` brings every database to.
SCHEMA_VERSION = max(MIGRATIONS)

# Locks the migration of one PostgreSQL schema (pg_advisory_xact_lock's key
# is this namespace and the schema's name, hashed to 64 bits).
_LOCK_NAMESPACE = "rasa_handover.schema_migration"


def migrate(conn: Connection) -> int:
    """Brings the database to `SCHEMA_VERSION`; safe on every start.

    Args:
        conn: A connection in a transaction that nothing has written in yet
            (sync, inside `run_sync`); the migration commits with it.

    Returns:
        The version the database had: 0 for a new one.

    Raises:
        SchemaVersionError: The database is newer than this code.

    """
    schema = _schema_of(conn)
    _lock(conn, schema)
    found = _found_version(conn, schema)
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the inbox database{_where(schema)} has schema version {found}, but "
            f"this rasa-handover knows versions up to {SCHEMA_VERSION}: a newer "
            "rasa-handover has migrated it. Upgrade rasa-handover on this replica "
            "to the version the others run (a database is never downgraded)."
        )
    metadata.create_all(conn)
    if found:
        add_missing_columns(conn)
    for version in range(max(found, 1) + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[version](conn, schema)
    if found != SCHEMA_VERSION:
        conn.execute(schema_version_table.delete())
        conn.execute(schema_version_table.insert().values(version=SCHEMA_VERSION))
    return found


def add_missing_columns(conn: Connection) -> List[str]:
    """Adds the columns a newer schema has to tables an older version created.

    The rule within a schema version: a new column is nullable (old rows have
    no value for it), so `ALTER TABLE ... ADD COLUMN` is all an upgrade needs,
    on SQLite and PostgreSQL alike.

    Args:
        conn: A connection in a transaction (sync, inside `run_sync`).

    Returns:
        `table.column` of each column added (empty when the schema is current).

    """
    inspector = sa.inspect(conn)
    schema = _schema_of(conn)
    added = []
    for table in metadata.sorted_tables:
        present = {
            column["name"] for column in inspector.get_columns(table.name, schema)
        }
        for column in table.columns:
            if column.name in present:
                continue
            assert column.nullable, f"{table.name}.{column.name} must be nullable"
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(
                sa.text(
                    f"ALTER TABLE {_qualified(conn, table.name, schema)} "
                    f"ADD COLUMN {conn.dialect.identifier_preparer.quote(column.name)}"
                    f" {kind}"
                )
            )
            added.append(f"{table.name}.{column.name}")
    return added


def _qualified(conn: Connection, table: str, schema: Optional[str]) -> str:
    """`"schema"."table"`, or the quoted table name without a schema."""
    quote = conn.dialect.identifier_preparer.quote
    return f"{quote(schema)}.{quote(table)}" if schema else quote(table)


def _schema_of(conn: Connection) -> Optional[str]:
    translate = conn.get_execution_options().get("schema_translate_map") or {}
    return translate.get(None)


def _lock(conn: Connection, schema: Optional[str]) -> None:
    """Holds off every other migration of this database until the commit."""
    if conn.dialect.name == "sqlite":
        # Takes the write lock now, before the version is read: a second
        # process waits here (busy_timeout) and then reads the new version.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    if schema is None:
        schema = str(conn.execute(sa.text("SELECT current_schema()")).scalar())
    digest = hashlib.sha256(f"{_LOCK_NAMESPACE}:{schema}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _found_version(conn: Connection, schema: Optional[str]) -> int:
    tables = set(sa.inspect(conn).get_table_names(schema))
    if schema_version_table.name in tables:
        version = conn.execute(
            sa.select(sa.func.max(schema_version_table.c.version))
        ).scalar()
        if version is not None:
            return int(version)
    # Version 1 recorded no version: its tables are how to recognise it.
    return 1 if tickets_table.name in tables else 0


def _where(schema: Optional[str]) -> str:
    return f" (schema {schema})" if schema else ""

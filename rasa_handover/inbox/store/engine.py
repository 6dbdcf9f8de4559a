"""Database URLs and the async engine: SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

import functools
import json
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, StaticPool

from rasa_handover.inbox.errors import ValidationError

# Seconds a SQLite writer waits for another writer before giving up: concurrent
# handovers in the embedded inbox queue up instead of failing.
SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Open connections to an SQLite file (each is a thread of aiosqlite's); readers
# beyond these wait for one.
SQLITE_POOL_SIZE = 8
# Connections each inbox process keeps to PostgreSQL, and how many more it may
# open under a burst (count them against `max_connections`, default 100).
POSTGRES_POOL_SIZE = 10
POSTGRES_MAX_OVERFLOW = 10


# Payloads come from other code; never fail a handover on a stray datetime or
# Decimal in them.
JSON_SERIALIZER = functools.partial(json.dumps, default=str)


def to_async_url(url: str) -> str:
    """Turns a plain database URL (or a file path) into its async-driver form.

    Args:
        url: `sqlite:///x.db`, `postgresql://...`, `postgres://...`, a URL that
            already names `aiosqlite`/`asyncpg`, or a bare path like `handover.db`.

    Returns:
        `sqlite+aiosqlite:///...` or `postgresql+asyncpg://...`.

    Raises:
        ValidationError: for any other database.

    """
    if "://" not in url:
        return f"sqlite+aiosqlite:///{url}"
    scheme, rest = url.split("://", 1)
    base = scheme.split("+", 1)[0].lower()
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    raise ValidationError(
        f"unsupported database '{scheme}': use sqlite:///path.db or "
        "postgresql://user@host/db",
        field="db",
    )


def create_engine(async_url: str, schema: Optional[str] = None) -> AsyncEngine:
    """The engine for an async database URL (see `to_async_url`).

    Args:
        async_url: `sqlite+aiosqlite:///...` or `postgresql+asyncpg://...`.
        schema: PostgreSQL schema for the tables (default: the search path).

    Returns:
        The engine; on SQLite with the pragmas every connection needs.

    """
    options: Dict[str, Any] = {"json_serializer": JSON_SERIALIZER}
    if schema:
        options["execution_options"] = {"schema_translate_map": {None: schema}}
    sqlite = is_sqlite(async_url)
    if not sqlite:
        # Kept open under load: beyond `pool_size` a connection is closed when
        # returned, and a new one costs PostgreSQL a process and asyncpg a
        # type introspection (a standalone inbox under 1,000 conversations
        # opened one every few requests with the default 5).
        options["pool_size"] = POSTGRES_POOL_SIZE
        options["max_overflow"] = POSTGRES_MAX_OVERFLOW
    if sqlite:
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        if sqlite_file_url(async_url) is None:
            # One shared connection, or every query would see an empty database.
            options["poolclass"] = StaticPool
        else:
            # Kept open: SQLAlchemy's default for aiosqlite files opens a
            # connection (a thread, the pragmas) for every query, which was
            # most of the embedded inbox's time per relayed message. A query
            # waits for a free one as long as a writer would for the lock.
            options["poolclass"] = AsyncAdaptedQueuePool
            options["pool_size"] = SQLITE_POOL_SIZE
            options["max_overflow"] = 0
            options["pool_timeout"] = SQLITE_BUSY_TIMEOUT_SECONDS
    engine = create_async_engine(async_url, **options)
    if sqlite:
        sa.event.listen(engine.sync_engine, "connect", sqlite_pragmas)
    return engine


def sqlite_file_url(async_url: str) -> Optional[str]:
    """The pysqlite URL of an SQLite file (None: not SQLite, or in memory)."""
    if not is_sqlite(async_url):
        return None
    if ":memory:" in async_url or async_url.rstrip("/").endswith("aiosqlite:"):
        return None
    return "sqlite://" + async_url.split("://", 1)[1]


def create_sync_sqlite_engine(sync_url: str) -> sa.engine.Engine:
    """A synchronous engine on one pysqlite connection whose transactions we run.

    Used from one thread at a time (`group_commit`). pysqlite's own transaction
    handling is off (it would start transactions late and end one at a
    `RELEASE`): the caller sends `BEGIN`, savepoints and `COMMIT` itself.

    Args:
        sync_url: `sqlite:///path.db` (see `sqlite_file_url`).

    Returns:
        The engine (SQLAlchemy 2.0-style: nothing commits on its own).

    """
    engine = sa.create_engine(
        sync_url,
        future=True,
        poolclass=StaticPool,
        json_serializer=JSON_SERIALIZER,
        connect_args={
            "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
            "check_same_thread": False,
        },
    )

    def connect(dbapi_connection: Any, record: Any) -> None:
        sqlite_pragmas(dbapi_connection, record)
        dbapi_connection.isolation_level = None

    sa.event.listen(engine, "connect", connect)
    return engine


def is_sqlite(url: str) -> bool:
    """Whether a database URL names SQLite."""
    return url.startswith("sqlite")


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Sets the pragmas every SQLite connection of the store needs."""
    cursor = dbapi_connection.cursor()
    # WAL lets the agents' page read while a handover is being written.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # In WAL mode NORMAL is safe against a crashed process (only a power cut
    # can lose the latest commits) and saves an fsync per commit: 1.8x more
    # relayed messages per second in benchmarks/bench_inbox_throughput.py.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()

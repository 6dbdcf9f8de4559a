"""Database URLs and the async engine: SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

import asyncio
import functools
import json
import time
from typing import Any, Callable, Dict, Optional

import asyncpg
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, StaticPool

from rasa_handover.inbox.errors import ValidationError

# Seconds a SQLite writer waits for another writer before giving up: concurrent
# handovers in the embedded inbox queue up instead of failing.
SQLITE_BUSY_TIMEOUT_SECONDS = 30
# How often a connection asks again to switch a file that another process is
# writing to WAL (see `_switch_to_wal`): doubling from the first pause.
WAL_RETRY_FIRST_PAUSE_SECONDS = 0.005
WAL_RETRY_MAX_PAUSE_SECONDS = 0.2
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

# Seconds a request waits for a new PostgreSQL connection before it fails with
# 503 (asyncpg's default, 60, outlasts the clients' own timeouts).
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10

# What a database that cannot be reached right now raises: a refused or timed
# out connection, one dropped mid-query, a server shutting down or starting up.
_UNREACHABLE_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
)


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
        # A pooled connection the server dropped (restart, failover) is
        # replaced before use: the engine recovers by itself.
        options["pool_pre_ping"] = True
        options["connect_args"] = {"timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}
        # Kept open under load: beyond `pool_size` a connection is closed when
        # returned, and a new one costs PostgreSQL a process and asyncpg a
        # type introspection (a standalone inbox under 1,000 conversations
        # opened one every few requests with the default 5).
        options["pool_size"] = POSTGRES_POOL_SIZE
        options["max_overflow"] = POSTGRES_MAX_OVERFLOW
    else:
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
    else:
        dialect = engine.sync_engine.dialect
        dialect.do_ping = functools.partial(_ping, dialect.do_ping)
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


def _ping(ping: Callable[[Any], bool], dbapi_connection: Any) -> bool:
    """The pool's check of a connection: any failure means use another one.

    SQLAlchemy 1.4's asyncpg ping raises asyncpg's `InternalClientError`
    ("cannot switch to state 15") on a connection the server terminated,
    instead of reporting it dead (asyncpg issue 1069): the request would fail
    although a new connection works.
    """
    try:
        return ping(dbapi_connection)
    except Exception:
        return False


def is_database_unreachable(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached right now.

    A retry later may succeed. The failed transaction did not commit (only a
    connection lost during the COMMIT itself leaves that unknown, which the
    channel's retries survive: creating a ticket is idempotent). A bad query
    or a broken constraint is no such error.
    """
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    cause: Optional[BaseException] = error
    while cause is not None:
        if isinstance(cause, _UNREACHABLE_ERRORS):
            return True
        if isinstance(cause, DBAPIError) and cause.orig is not None:
            cause = cause.orig
        else:
            cause = cause.__cause__
    return False


def is_sqlite(url: str) -> bool:
    """Whether a database URL names SQLite."""
    return url.startswith("sqlite")


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Sets the pragmas every SQLite connection of the store needs."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    # WAL lets the agents' page read while a handover is being written.
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    # In WAL mode NORMAL is safe against a crashed process (only a power cut
    # can lose the latest commits) and saves an fsync per commit: 1.8x more
    # relayed messages per second in benchmarks/bench_inbox_throughput.py.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode=WAL`, retried while another process holds the file.

    A new file stays in rollback-journal mode until its first write. While
    another connection writes to it (a replica creating the tables), the switch
    fails at once with "database is locked": SQLite does not wait there
    (busy_timeout does not apply), so we do, as long as a writer would.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    pause = WAL_RETRY_FIRST_PAUSE_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as error:  # sqlite3's, or aiosqlite's adapted class
            if "database is locked" not in str(error):
                raise
            if time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, WAL_RETRY_MAX_PAUSE_SECONDS)

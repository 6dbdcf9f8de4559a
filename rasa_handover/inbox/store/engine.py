"""Database URLs and the async engine: SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

import asyncio
import functools
import json
from typing import Any, Callable, Dict, Optional

import asyncpg
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from rasa_handover.inbox.errors import ValidationError

# Seconds a SQLite writer waits for another writer before giving up: concurrent
# handovers in the embedded inbox queue up instead of failing.
SQLITE_BUSY_TIMEOUT_SECONDS = 30

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
    options: Dict[str, Any] = {
        # Payloads come from other code; never fail a handover on a stray
        # datetime or Decimal in them.
        "json_serializer": functools.partial(json.dumps, default=str),
    }
    if schema:
        options["execution_options"] = {"schema_translate_map": {None: schema}}
    sqlite = is_sqlite(async_url)
    if not sqlite:
        # A pooled connection the server dropped (restart, failover) is
        # replaced before use: the engine recovers by itself.
        options["pool_pre_ping"] = True
        options["connect_args"] = {"timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}
    else:
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        if ":memory:" in async_url or async_url.rstrip("/").endswith("aiosqlite:"):
            # One shared connection, or every query would see an empty database.
            options["poolclass"] = StaticPool
    engine = create_async_engine(async_url, **options)
    if sqlite:
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        dialect = engine.sync_engine.dialect
        dialect.do_ping = functools.partial(_ping, dialect.do_ping)
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
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

"""Database URLs and the async engine: SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

import functools
import json
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from rasa_handover.inbox.errors import ValidationError

# Seconds a SQLite writer waits for another writer before giving up: concurrent
# handovers in the embedded inbox queue up instead of failing.
SQLITE_BUSY_TIMEOUT_SECONDS = 30


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
    if sqlite:
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        if ":memory:" in async_url or async_url.rstrip("/").endswith("aiosqlite:"):
            # One shared connection, or every query would see an empty database.
            options["poolclass"] = StaticPool
    engine = create_async_engine(async_url, **options)
    if sqlite:
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


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

"""Fixtures for the inbox tests: fake clock, stores on SQLite files and PostgreSQL.

PostgreSQL tests read the server URL from `HANDOVER_TEST_POSTGRES_URL` (e.g.
`postgresql://postgres@127.0.0.1:5432/test`) and are skipped without it. Each
test gets its own schema, dropped afterwards, so runs never collide.
"""

import contextlib
import os
import socket
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator, Callable, Iterable, Optional

import pytest
import sqlalchemy as sa
from sanic import Sanic
from sqlalchemy.ext.asyncio import create_async_engine

from rasa_handover.inbox.config import DEFAULT_URL_PREFIX
from rasa_handover.inbox.store import InboxStore, to_async_url
from tests.conftest import skip_reason

POSTGRES_ENV = "HANDOVER_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = skip_reason(
    f"the PostgreSQL tests need a server: {POSTGRES_ENV} is not set",
    f"{POSTGRES_ENV}=postgresql://postgres@127.0.0.1:5432/test make test",
)
# A Wednesday, inside default business hours everywhere in the tests.
START = datetime(2024, 5, 15, 10, 0, tzinfo=timezone.utc)


class FakeClock:
    """A settable UTC clock for the store and service."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def postgres_url() -> Optional[str]:
    return os.environ.get(POSTGRES_ENV) or None


requires_postgres = pytest.mark.skipif(
    postgres_url() is None, reason=POSTGRES_SKIP_REASON
)


class PostgresSchemas:
    """Creates throw-away schemas on the test server and drops them at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.created: list = []

    async def new(self) -> str:
        schema = f"handover_test_{uuid.uuid4().hex[:12]}"
        await self._execute([f'CREATE SCHEMA "{schema}"'])
        self.created.append(schema)
        return schema

    async def drop_all(self) -> None:
        await self._execute(
            [f'DROP SCHEMA IF EXISTS "{name}" CASCADE' for name in self.created]
        )

    async def _execute(self, statements: Iterable[str]) -> None:
        engine = create_async_engine(to_async_url(self.url))
        try:
            async with engine.begin() as conn:
                for statement in statements:
                    await conn.execute(sa.text(statement))
        finally:
            await engine.dispose()


@pytest.fixture
async def pg_schemas() -> AsyncIterator[PostgresSchemas]:
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    schemas = PostgresSchemas(url)
    yield schemas
    await schemas.drop_all()


StoreFactory = Callable[[], "InboxStore"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[InboxStore]:
    """An empty store with tables, on a SQLite file or a fresh PostgreSQL schema."""
    schemas: Optional[PostgresSchemas] = None
    if request.param == "sqlite":
        created = InboxStore(f"sqlite:///{tmp_path / 'handover.db'}", clock=clock)
    else:
        url = postgres_url()
        if url is None:
            pytest.skip(POSTGRES_SKIP_REASON)
        schemas = PostgresSchemas(url)
        created = InboxStore(url, schema=await schemas.new(), clock=clock)
    await created.create_all()
    yield created
    await created.close()
    if schemas is not None:
        await schemas.drop_all()


@pytest.fixture
async def sqlite_store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[InboxStore]:
    created = InboxStore(f"sqlite:///{tmp_path / 'handover.db'}", clock=clock)
    await created.create_all()
    yield created
    await created.close()


@contextlib.asynccontextmanager
async def running(app: Sanic, prefix: str = DEFAULT_URL_PREFIX) -> AsyncIterator[str]:
    """Serves `app` on a free loopback port (a real socket); yields its API base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}{prefix}"
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()

"""Fixtures of the end-to-end tests that need more than one module."""

import asyncio
from typing import Any, Iterator, Optional, Tuple

import pytest

from tests.inbox.conftest import POSTGRES_SKIP_REASON, PostgresSchemas, postgres_url


@pytest.fixture
def inbox_db(request: pytest.FixtureRequest) -> Iterator[Tuple[Optional[str], Any]]:
    """(database URL, schema) of the standalone inbox: None is a SQLite file.

    Each test runs on one engine (`indirect` parametrisation): the restarts
    (test_delivery_restarts.py) on PostgreSQL, the SIGKILL
    (test_inbox_killed.py) on SQLite. Each restart takes minutes of Rasa
    start-up, and the delivery code is the same on both (tests/inbox covers
    both engines).
    """
    if request.param == "sqlite":
        yield None, None
        return
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    schemas = PostgresSchemas(url)
    schema = asyncio.run(schemas.new())
    yield url, schema
    asyncio.run(schemas.drop_all())

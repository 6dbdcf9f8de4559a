"""Agent credentials through real HTTP: removed agents, renamed agents, guessing.

The inbox.yml is the list of agents: an agent removed from it is retired on the
next start (their token stops working), an agent renamed in it keeps their
token (the server starts), and an address that sends many unknown tokens is
answered 429 for a while. SQLite and PostgreSQL.
"""

import uuid
from pathlib import Path
from typing import AsyncIterator, Callable, Optional, Tuple

import aiohttp
import pytest
from sanic import Sanic

from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.limits import MAX_FAILED_LOGINS
from tests.inbox.conftest import (
    POSTGRES_SKIP_REASON,
    PostgresSchemas,
    postgres_url,
    running,
)

MAYA = AgentConfig("Maya", "maya-token-0123456789", teams=("billing",))
TOM = AgentConfig("Tom", "tom-token-0123456789", teams=("billing",))

AppFactory = Callable[[InboxConfig], Sanic]


def config(*agents: AgentConfig) -> InboxConfig:
    return InboxConfig(agents=agents, housekeeping_seconds=0, presence_grace_seconds=0)


@pytest.fixture(params=["sqlite", "postgresql"])
async def make_app(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AppFactory]:
    """Apps on one database: a restart with another inbox.yml is a new app."""
    schemas: Optional[PostgresSchemas] = None
    url, schema = f"sqlite:///{tmp_path / 'handover.db'}", None
    if request.param == "postgresql":
        pg_url = postgres_url()
        if pg_url is None:
            pytest.skip(POSTGRES_SKIP_REASON)
        schemas = PostgresSchemas(pg_url)
        url, schema = pg_url, await schemas.new()

    def factory(inbox_config: InboxConfig) -> Sanic:
        name = f"inbox_credentials_{uuid.uuid4().hex[:10]}"
        return create_app(url, inbox_config, name=name, schema=schema)

    yield factory
    if schemas is not None:
        await schemas.drop_all()


async def me(base: str, token: str) -> Tuple[int, dict]:
    async with aiohttp.ClientSession() as session, session.get(
        f"{base}/api/me", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status, await response.json()


async def test_an_agent_removed_from_the_config_loses_their_token(
    make_app: AppFactory,
) -> None:
    async with running(make_app(config(MAYA, TOM))) as base:
        assert (await me(base, TOM.token))[0] == 200

    async with running(make_app(config(MAYA))) as base:
        status, answer = await me(base, TOM.token)
        assert (status, answer["error"]) == (401, "unknown agent token")
        assert (await me(base, MAYA.token))[0] == 200


async def test_a_renamed_agent_keeps_their_token_and_the_server_starts(
    make_app: AppFactory,
) -> None:
    async with running(make_app(config(MAYA, TOM))) as base:
        assert (await me(base, TOM.token))[0] == 200
    renamed = AgentConfig("Tom Berg", TOM.token, teams=("billing",))

    async with running(make_app(config(MAYA, renamed))) as base:
        status, answer = await me(base, TOM.token)

    assert status == 200
    assert (answer["agent"]["id"], answer["agent"]["name"]) == ("tom-berg", "Tom Berg")


async def test_an_address_guessing_tokens_is_slowed_down(make_app: AppFactory) -> None:
    async with running(make_app(config(MAYA))) as base:
        statuses = [
            (await me(base, f"guess-{n}"))[0] for n in range(MAX_FAILED_LOGINS + 1)
        ]
        blocked, answer = await me(base, MAYA.token)

    assert statuses == [401] * MAX_FAILED_LOGINS + [429]
    assert (blocked, answer["field"]) == (429, "Authorization")
    assert "retry in" in answer["error"]

"""Capacity under concurrency: 50 handovers at once, one agent with capacity 1.

Real HTTP (signed channel calls over a socket) against the real Sanic app, on a
SQLite file and on the real PostgreSQL. The capacity is a condition of the
assigning `UPDATE` (after a row lock on the agent), so however the requests
interleave, at most one ticket is assigned; the others wait as `all_busy`.
"""

import asyncio
import json
import uuid
from pathlib import Path
from typing import List

import aiohttp
import pytest
from sanic import Sanic

from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.models import LOAD_STATUSES, STATUS_WAITING
from rasa_handover.inbox.service import InboxService
from tests.inbox.conftest import PostgresSchemas, postgres_url, running
from tests.signed import channel_headers

SECRET = "channel-secret-for-capacity-tests"
CONCURRENT_HANDOVERS = 50
CONFIG = InboxConfig(
    agents=(AgentConfig("Maya", "token-maya", teams=("billing",), capacity=1),),
    shared_secret=SECRET,
    housekeeping_seconds=0,
    presence_grace_seconds=0,
)


async def handover(session: aiohttp.ClientSession, base: str, number: int) -> dict:
    body = json.dumps(
        {
            "conversation_id": f"conv-{number}",
            "attempt": 1,
            "payload": {"trigger": {"reason": "explicit_request", "team": "billing"}},
        }
    ).encode()
    url = f"{base}/api/channel/tickets"
    headers = channel_headers("POST", url, body, SECRET)
    async with session.post(url, data=body, headers=headers) as response:
        assert response.status == 201, await response.text()
        return dict(await response.json())


async def fifty_at_once(app: Sanic) -> List[dict]:
    async with running(app) as base, aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/api/agents/me/availability",
            json={"online": True},
            headers={"Authorization": "Bearer token-maya"},
        ) as response:
            assert response.status == 200
        views = await asyncio.gather(
            *(handover(session, base, n) for n in range(CONCURRENT_HANDOVERS))
        )
        service: InboxService = app.ctx.inbox_service
        tickets = await service.store.list_queue()
        assert len(tickets) == CONCURRENT_HANDOVERS
        held = [t for t in tickets if t.status in LOAD_STATUSES]
        assert len(held) == 1, [(t.id, t.status, t.agent_id) for t in held]
        waiting = [t for t in tickets if t.status == STATUS_WAITING]
        assert len(waiting) == CONCURRENT_HANDOVERS - 1
    return views


def app_name() -> str:
    return f"inbox_capacity_{uuid.uuid4().hex[:10]}"


async def test_capacity_holds_under_concurrent_handovers_on_sqlite(
    tmp_path: Path,
) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'handover.db'}", CONFIG, name=app_name())

    views = await fifty_at_once(app)

    told_busy = [v for v in views if v["status"] == STATUS_WAITING]
    assert len(told_busy) == CONCURRENT_HANDOVERS - 1
    assert {v["no_agent_reason"] for v in told_busy} == {"all_busy"}


async def test_capacity_holds_under_concurrent_handovers_on_postgresql(
    pg_schemas: PostgresSchemas,
) -> None:
    url = postgres_url()
    if url is None:
        pytest.skip("needs PostgreSQL")
    app = create_app(url, CONFIG, name=app_name(), schema=await pg_schemas.new())

    views = await fifty_at_once(app)

    assert {v["no_agent_reason"] for v in views if v["status"] == STATUS_WAITING} == {
        "all_busy"
    }

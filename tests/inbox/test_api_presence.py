"""Presence over real HTTP: the open event stream keeps an agent online.

A real socket (aiohttp against the running Sanic app) with a grace period of
1.5 s, so that a closed stream makes the agent away within seconds.
"""

import asyncio
import time
from pathlib import Path
from typing import Any, Dict

import aiohttp
import pytest
from sanic import Sanic

from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from tests.inbox.conftest import running
from tests.inbox.test_api import MAYA, PAYLOAD, SECRET, signed, unique_name

GRACE_SECONDS = 1.5
# The grace, a presence check (a quarter of it) and slack for a busy machine.
AWAY_WITHIN_SECONDS = GRACE_SECONDS + 4.0
TECHNICAL: Dict[str, Any] = {**PAYLOAD, "trigger": {"team": "technical"}}

CONFIG = InboxConfig(
    agents=(AgentConfig("Maya", "token-maya", teams=("general", "billing")),),
    shared_secret=SECRET,
    housekeeping_seconds=0,
    presence_grace_seconds=GRACE_SECONDS,
)


@pytest.fixture
def app(tmp_path: Path) -> Sanic:
    return create_app(
        f"sqlite:///{tmp_path / 'handover.db'}", CONFIG, name=unique_name()
    )


async def me(session: aiohttp.ClientSession, base: str) -> Dict[str, Any]:
    async with session.get(f"{base}/api/me", headers=MAYA) as answer:
        return dict((await answer.json())["agent"])


async def test_open_stream_keeps_the_agent_online_and_closing_it_does_not(
    app: Sanic,
) -> None:
    async with running(app) as base, aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/api/agents/me/availability", json={"online": True}, headers=MAYA
        ) as answer:
            assert answer.status == 200
        async with session.get(f"{base}/api/events", headers=MAYA) as stream:
            assert stream.status == 200
            await asyncio.sleep(GRACE_SECONDS * 3)
            assert (await me(session, base))["online"] is True
            body, headers = signed(
                {"conversation_id": "conv-1", "attempt": 1, "payload": TECHNICAL}
            )
            async with session.post(
                f"{base}/api/channel/tickets", data=body, headers=headers
            ) as created:
                view = await created.json()
            # A technical handover reaches the only agent online (billing).
            assert (view["agent_name"], view["team"]) == ("Maya", "technical")

        deadline = time.monotonic() + AWAY_WITHIN_SECONDS
        while (await me(session, base))["online"] and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert (await me(session, base))["online"] is False
        async with session.get(f"{base}/api/queue", headers=MAYA) as answer:
            tickets = (await answer.json())["tickets"]
        assert [(t["status"], t["agent_id"]) for t in tickets] == [("waiting", None)]


async def test_the_heartbeat_endpoint_keeps_an_api_client_online(app: Sanic) -> None:
    async with running(app) as base, aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/api/agents/me/heartbeat", headers=MAYA
        ) as answer:
            offline = await answer.json()
        async with session.post(
            f"{base}/api/agents/me/availability", json={"online": True}, headers=MAYA
        ):
            pass
        for _ in range(6):
            await asyncio.sleep(GRACE_SECONDS / 2)
            async with session.post(
                f"{base}/api/agents/me/heartbeat", headers=MAYA
            ) as answer:
                online = await answer.json()

        assert offline["online"] is False  # A heartbeat never brings one online.
        assert online == {"online": True, "next_seconds": GRACE_SECONDS / 3}
        assert (await me(session, base))["online"] is True

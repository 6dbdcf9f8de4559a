"""The channel against a real standalone inbox over HTTP (HMAC-signed), in process.

The inbox is the real app (`create_app`) served on a loopback socket; the
channel talks to it through `HttpInboxClient`, exactly as with `inbox_url` in
credentials.yml.
"""

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Tuple

import pytest
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic

from rasa_handover.channels import HandoverInput
from rasa_handover.channels.inbox_client import HttpInboxClient, InboxUnavailableError
from rasa_handover.channels.outbox import Outbox
from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.signing import SigningKeys
from tests.e2e.servers import free_port
from tests.inbox.conftest import running

SECRET = "channel-secret"
CONFIG = InboxConfig(
    agents=(AgentConfig("Maya", "token-maya", teams=("general",)),),
    shared_secret=SECRET,
    housekeeping_seconds=0,
)
PAYLOAD: Dict[str, Any] = {"trigger": {"reason": "explicit_request"}}


@pytest.fixture
async def inbox(tmp_path: Path) -> AsyncIterator[Tuple[str, HttpInboxClient]]:
    app = create_app(
        f"sqlite:///{tmp_path / 'inbox.db'}",
        CONFIG,
        name=f"inbox_http_{uuid.uuid4().hex[:10]}",
    )
    async with running(app) as url:
        keys = SigningKeys.from_settings(SECRET)
        assert keys is not None
        yield url, HttpInboxClient(url, keys)


@pytest.mark.parametrize(
    "open_ticket, relayed",
    [
        pytest.param(False, False, id="no-open-handover-is-not-an-error"),
        pytest.param(True, True, id="open-handover-takes-the-message"),
    ],
)
async def test_relay_answers_whether_the_conversation_has_an_open_handover(
    inbox: Tuple[str, HttpInboxClient], open_ticket: bool, relayed: bool
) -> None:
    _, client = inbox
    if open_ticket:
        await client.request_handover("c1", 1, PAYLOAD)
    assert await client.relay("c1", "my order is 1182") is relayed


async def test_customer_message_without_a_handover_is_not_logged_as_an_error(
    inbox: Tuple[str, HttpInboxClient],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, _ = inbox
    channel = HandoverInput(
        inbox_url=url, shared_secret=SECRET, outbox=str(tmp_path / "outbox.db")
    )

    async def on_new_message(message: UserMessage) -> None:
        pass

    channel.blueprint(on_new_message)
    channel.relay.outbox = Outbox(str(tmp_path / "outbox.db"))
    # Without Rasa's tracker store every message is offered to the inbox, which
    # answers 404 for a conversation that has no open handover.
    with caplog.at_level(logging.WARNING):
        await channel.relay.relay_to_inbox("c-without-ticket", "hello?")
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in problems] == []
    assert channel.relay.outbox.pending_count() == 0
    channel.relay.outbox.close()


async def test_channel_registers_on_a_sanic_app_like_rasa_run(
    inbox: Tuple[str, HttpInboxClient], tmp_path: Path
) -> None:
    url, _ = inbox
    channel = HandoverInput(
        inbox_url=url, shared_secret=SECRET, outbox=str(tmp_path / "outbox.db")
    )
    app = Sanic(f"rasa_{uuid.uuid4().hex[:10]}")
    register([channel], app, route="/webhooks/")  # what `rasa run` does

    _, health = await app.asgi_client.get("/webhooks/handover/")
    assert health.status == 200
    assert health.json == {
        "status": "ok",
        "inbox": "standalone",
        "outbox_pending": 0,
        "relay_fast_path": True,
        "handed_over_messages": {"fast_path": 0, "policies": 0},
    }
    _, refused = await app.asgi_client.post("/webhooks/handover/webhook", json=[])
    assert (refused.status, refused.json["field"]) == (400, "body")


@pytest.mark.parametrize(
    "query, field",
    [
        pytest.param("wait=nan", "wait", id="wait-nan"),
        pytest.param("wait=-1", "wait", id="wait-negative"),
        pytest.param("after=99999999999999999999999", "after", id="after-too-big"),
        pytest.param("after=x", "after", id="after-not-a-number"),
    ],
)
async def test_the_customer_poll_answers_bad_numbers_with_a_400(
    inbox: Tuple[str, HttpInboxClient], tmp_path: Path, query: str, field: str
) -> None:
    url, _ = inbox
    channel = HandoverInput(
        inbox_url=url, shared_secret=SECRET, outbox=str(tmp_path / "outbox.db")
    )
    app = Sanic(f"rasa_{uuid.uuid4().hex[:10]}")
    register([channel], app, route="/webhooks/")

    _, answer = await app.asgi_client.get(f"/webhooks/handover/messages/c1?{query}")

    assert (answer.status, answer.json["field"]) == (400, field)


async def test_a_csat_score_reaches_a_standalone_inbox(
    inbox: Tuple[str, HttpInboxClient],
) -> None:
    import aiohttp

    url, client = inbox
    before = await client.record_csat("c1", 5)  # Nothing resolved yet: a 404.
    ticket_id = (await client.request_handover("c1", 1, PAYLOAD))["ticket_id"]
    maya = {"Authorization": "Bearer token-maya"}
    async with aiohttp.ClientSession(headers=maya) as session:
        for step in ("claim", "resolve"):
            path = f"{url}/api/tickets/{ticket_id}/{step}"
            async with session.post(path, json={}) as response:
                assert response.status == 200, await response.text()

    after = await client.record_csat("c1", 5)

    assert before == {"recorded": False}
    assert after == {"recorded": True, "ticket_id": ticket_id, "csat": 5}


async def test_an_inbox_slower_than_the_timeout_is_unavailable_not_a_crash() -> None:
    """Found by the replica test under load: aiohttp's timeout is
    asyncio.TimeoutError, not the builtin one on Python 3.10; it escaped as a
    500 to the customer instead of keeping the handover in the outbox."""
    from aiohttp import web

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/{tail:.*}", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    keys = SigningKeys.from_settings(SECRET)
    assert keys is not None
    client = HttpInboxClient(f"http://127.0.0.1:{port}", keys, timeout=0.2)
    try:
        with pytest.raises(InboxUnavailableError, match="TimeoutError"):
            await client.request_handover("c1", 1, PAYLOAD)
    finally:
        await runner.cleanup()

"""A relayed message whose call timed out after the inbox stored it is not stored twice.

The channel (`HandoverInput`, its relay and durable outbox) talks to a real
standalone inbox app over real HTTP on a loopback socket, through a small TCP
proxy that holds back the inbox's first answer for longer than the channel
waits: the inbox stores the message, the channel times out and keeps it in
the outbox, and the outbox's retry reaches the inbox again. Only the
channel's HTTP timeout is shortened (5 s to 0.5 s), to keep the test short;
Rasa itself is not running (the blueprint alone, as in
tests/test_channel_http_client.py).
"""

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import AsyncIterator, List, Tuple

import pytest
from rasa.core.channels.channel import UserMessage

from rasa_handover.channels import HandoverInput
from rasa_handover.channels.inbox_client import HttpInboxClient
from rasa_handover.channels.outbox import KIND_RELAY, Outbox
from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.contract import CLIENT_MESSAGE_ID, EVENT_MESSAGE
from rasa_handover.inbox.signing import SigningKeys
from rasa_handover.inbox.store import InboxStore
from tests.inbox.conftest import running

SECRET = "channel-secret"
CONFIG = InboxConfig(
    agents=(AgentConfig("Maya", "token-maya", teams=("general",)),),
    shared_secret=SECRET,
    housekeeping_seconds=0,
)
PAYLOAD = {"trigger": {"reason": "explicit_request"}}
CHANNEL_TIMEOUT_SECONDS = 0.5
HELD_SECONDS = 3 * CHANNEL_TIMEOUT_SECONDS


class AnswerHoldingProxy:
    """Forwards HTTP connections to the inbox; holds back the first answer.

    The request goes through at once (the inbox stores the message); the
    answer waits `HELD_SECONDS`, past the channel's timeout. `answered` is
    set once the inbox has answered that first request.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.connections = 0
        self.answered = asyncio.Event()

    async def serve(self) -> asyncio.AbstractServer:
        return await asyncio.start_server(self._connection, "127.0.0.1", 0)

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        held = self.connections == 1
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.upstream_port
        )
        requests = asyncio.ensure_future(_pipe(client_reader, upstream_writer))
        try:
            first = await upstream_reader.read(65536)
            if held:
                self.answered.set()
                await asyncio.sleep(HELD_SECONDS)
            client_writer.write(first)
            await _pipe(upstream_reader, client_writer)
        except ConnectionError:
            pass  # The channel gave up on this connection.
        finally:
            requests.cancel()
            upstream_writer.close()
            client_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while True:
            data = await reader.read(65536)
            if not data:
                return
            writer.write(data)
            await writer.drain()


@pytest.fixture
async def inbox(
    tmp_path: Path,
) -> AsyncIterator[Tuple[str, InboxStore, HttpInboxClient]]:
    app = create_app(
        f"sqlite:///{tmp_path / 'inbox.db'}",
        CONFIG,
        name=f"inbox_once_{uuid.uuid4().hex[:10]}",
    )
    async with running(app) as url:
        keys = SigningKeys.from_settings(SECRET)
        assert keys is not None
        yield url, app.ctx.inbox_service.store, HttpInboxClient(url, keys)


async def test_the_outbox_retry_of_a_stored_message_does_not_store_it_again(
    inbox: Tuple[str, InboxStore, HttpInboxClient], tmp_path: Path
) -> None:
    url, store, direct = inbox
    ticket_id = (await direct.request_handover("c1", 1, PAYLOAD))["ticket_id"]
    port = int(url.split(":")[2].split("/")[0])
    proxy = AnswerHoldingProxy(port)
    server = await proxy.serve()
    proxy_port = server.sockets[0].getsockname()[1]
    proxied = url.replace(f":{port}/", f":{proxy_port}/")
    channel = HandoverInput(
        inbox_url=proxied, shared_secret=SECRET, outbox=str(tmp_path / "outbox.db")
    )
    seen: List[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        seen.append(message)

    channel.blueprint(on_new_message)
    relay = channel.relay
    relay.outbox = Outbox(str(tmp_path / "outbox.db"))
    assert isinstance(relay.client, HttpInboxClient)
    relay.client.timeout = CHANNEL_TIMEOUT_SECONDS
    try:
        await relay.handle_customer_message(
            "where is my order?", "c1", channel.customer_output(), None
        )
        queued = relay.outbox.due()
        await asyncio.wait_for(proxy.answered.wait(), timeout=10)
        stored_before_retry = [m.text for m in await store.messages(ticket_id)]
        delivered = await relay.retry_outbox()
        messages = await store.messages(ticket_id)
        events = await store.events(ticket_id=ticket_id)
    finally:
        relay.outbox.close()
        server.close()
        await server.wait_closed()

    assert [item.kind for item in queued] == [KIND_RELAY]  # The first try timed out.
    assert queued[0].body[CLIENT_MESSAGE_ID] == seen[0].message_id
    assert stored_before_retry == ["where is my order?"]
    assert delivered == 1 and proxy.connections == 2
    assert [m.text for m in messages] == ["where is my order?"]
    assert messages[0].client_message_id == seen[0].message_id  # Rasa's id.
    assert sum(1 for event in events if event.type == EVENT_MESSAGE) == 1

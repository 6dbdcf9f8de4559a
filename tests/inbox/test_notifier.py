"""Standalone mode: events reach the channel's webhook, signed, in order, retried."""

import asyncio
import contextlib
import json
import socket
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List

from aiohttp import web

from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.models import LifecycleEvent, Ticket
from rasa_handover.inbox.notifier import WebhookNotifier
from rasa_handover.inbox.signing import sign, verify

SECRET = "channel-secret"
PREFIX = "/webhooks/handover/inbox"
FAST_BACKOFF_SECONDS = 0.01
DELIVERY_TIMEOUT_SECONDS = 5.0


class Channel:
    """A fake channel webhook: answers with the queued statuses, records bodies."""

    def __init__(self, statuses: List[int]) -> None:
        self.statuses = statuses
        self.received: List[Dict[str, Any]] = []
        self.attempts = 0
        self.rejected_signatures = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        body = await request.read()
        try:
            verify(body, request.headers, SECRET, time.time())
        except ValueError:
            self.rejected_signatures += 1
            return web.Response(status=401)
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.received.append(json.loads(body))
        return web.Response(status=status)


@contextlib.asynccontextmanager
async def channel_server(channel: Channel) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/webhooks/handover/events", channel.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}/webhooks/handover/events"
    finally:
        await runner.cleanup()


def event(event_id: int, event_type: str = "message") -> LifecycleEvent:
    return LifecycleEvent(event_id, 7, event_type, {"text": f"line {event_id}"})


def ticket(url: str) -> Ticket:
    return Ticket(7, "conv-1", 1, "active", payload={"channel_callback_url": url})


async def test_retries_server_errors_then_delivers_signed_in_order() -> None:
    channel = Channel(statuses=[503, 500])
    notifier = WebhookNotifier(SECRET, backoff_seconds=FAST_BACKOFF_SECONDS)
    async with channel_server(channel) as url:
        for event_id in (1, 2, 3):
            await notifier(event(event_id), ticket(url))
        await notifier.close()

    assert channel.attempts == 5  # Two failures, then three deliveries.
    assert channel.rejected_signatures == 0
    assert [body["event"]["id"] for body in channel.received] == [1, 2, 3]
    assert channel.received[0]["conversation_id"] == "conv-1"


async def test_client_errors_are_not_retried() -> None:
    channel = Channel(statuses=[400])
    notifier = WebhookNotifier(SECRET, backoff_seconds=FAST_BACKOFF_SECONDS)
    async with channel_server(channel) as url:
        delivered = await notifier.deliver(url, b"{}")
        await notifier.close()

    assert delivered is False
    assert channel.attempts == 1


async def test_gives_up_after_the_last_attempt() -> None:
    channel = Channel(statuses=[503] * 10)
    notifier = WebhookNotifier(SECRET, attempts=3, backoff_seconds=FAST_BACKOFF_SECONDS)
    async with channel_server(channel) as url:
        delivered = await notifier.deliver(url, b"{}")
        await notifier.close()

    assert delivered is False
    assert channel.attempts == 3


async def test_unreachable_channel_does_not_raise() -> None:
    notifier = WebhookNotifier(SECRET, attempts=2, backoff_seconds=FAST_BACKOFF_SECONDS)

    delivered = await notifier.deliver("http://127.0.0.1:9/nothing", b"{}")
    await notifier.close()

    assert delivered is False


async def test_standalone_agent_reply_is_pushed_to_the_channel(tmp_path: Path) -> None:
    channel = Channel(statuses=[])
    config = InboxConfig(
        agents=(AgentConfig("Maya", "token-maya", teams=("general",)),),
        shared_secret=SECRET,
        housekeeping_seconds=0,
    )
    app = create_app(
        f"sqlite:///{tmp_path / 'h.db'}", config, name=f"inbox_{uuid.uuid4().hex[:8]}"
    )
    async with channel_server(channel) as url:
        body = json.dumps(
            {
                "conversation_id": "conv-1",
                "attempt": 1,
                "payload": {"channel_callback_url": url},
            }
        ).encode()
        _, created = await app.asgi_client.post(
            f"{PREFIX}/api/channel/tickets",
            content=body,
            headers=sign(body, SECRET, int(time.time())),
        )
        ticket_id = created.json["ticket_id"]
        _, replied = await app.asgi_client.post(
            f"{PREFIX}/api/tickets/{ticket_id}/reply",
            json={"text": "Hi, Maya here."},
            headers={"Authorization": "Bearer token-maya"},
        )
        assert replied.status == 201
        for _ in range(int(DELIVERY_TIMEOUT_SECONDS / FAST_BACKOFF_SECONDS)):
            if len(channel.received) >= 2:
                break
            await asyncio.sleep(FAST_BACKOFF_SECONDS)

    assert [body["event"]["type"] for body in channel.received] == [
        "accepted",
        "message",
    ]
    assert channel.received[1]["event"]["data"]["text"] == "Hi, Maya here."
    assert channel.received[1]["event"]["data"]["agent_name"] == "Maya"

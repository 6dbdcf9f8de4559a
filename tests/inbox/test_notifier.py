"""Standalone mode: every event reaches the channel once, in order, whatever restarts.

Real HTTP both ways: the standalone inbox app on a socket (SQLite file or the
real PostgreSQL) and a channel webhook on another socket that runs the
channel's own endpoint (`InboxEventsEndpoint`: signature check, applied ids in
SQLite). The channel is stopped (or refuses with 503) while the agent replies
and resolves, the inbox is restarted; what the customer gets is checked.
"""

import asyncio
import contextlib
import json
import socket
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

import aiohttp
import pytest
from aiohttp import web
from sanic import Sanic

from rasa_handover.channels.inbox_events import AppliedEvents, InboxEventsEndpoint
from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.signing import SigningKeys, Verifier, request_target, sign
from tests.inbox.conftest import POSTGRES_SKIP_REASON, PostgresSchemas, postgres_url
from tests.inbox.conftest import running as running_inbox
from tests.signed import channel_headers

SECRET = "channel-secret-for-delivery-tests"
KEYS = SigningKeys.from_settings(SECRET)
assert KEYS is not None
MAYA = {"Authorization": "Bearer token-maya"}
CONFIG = InboxConfig(
    agents=(AgentConfig("Maya", "token-maya", teams=("general",)),),
    shared_secret=SECRET,
    housekeeping_seconds=0,
    presence_grace_seconds=0,
)
WAIT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Channel:
    """The channel's webhook: the real endpoint, recording what it applies."""

    def __init__(self, applied_path: Path) -> None:
        self.applied: List[Dict[str, Any]] = []
        self.deliveries = 0
        self.refusing = False
        # Event types this channel answers 400 (a body it cannot use).
        self.malformed: Tuple[str, ...] = ()
        self.endpoint = InboxEventsEndpoint(
            Verifier(KEYS.inbox_to_channel),
            AppliedEvents(str(applied_path)),
            self.apply,
        )

    async def apply(self, event: Dict[str, Any], ticket: Dict[str, Any]) -> None:
        self.applied.append(event)

    async def handle(self, request: web.Request) -> web.Response:
        self.deliveries += 1
        if self.refusing:
            return web.json_response({"error": "restarting"}, status=503)
        raw = await request.read()
        if json.loads(raw)["event"]["type"] in self.malformed:
            return web.json_response({"error": "cannot use it"}, status=400)
        status, body = await self.endpoint.handle(
            request.method,
            request_target(request.path_qs),
            raw,
            request.headers,
        )
        return web.json_response(body, status=status)

    def texts(self) -> List[Tuple[str, Optional[str]]]:
        return [(event["type"], event["data"].get("text")) for event in self.applied]


@contextlib.asynccontextmanager
async def channel_listening(channel: Channel, port: int) -> AsyncIterator[None]:
    app = web.Application()
    app.router.add_post("/webhooks/handover/events", channel.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


async def inbox_app(db: Tuple[str, Optional[str]]) -> Sanic:
    url, schema = db
    return create_app(url, CONFIG, name=f"inbox_{uuid.uuid4().hex[:8]}", schema=schema)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Tuple[str, Optional[str]]]:
    """The inbox database both inbox processes of a test share."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'inbox.db'}", None
        return
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    schemas = PostgresSchemas(url)
    yield url, await schemas.new()
    await schemas.drop_all()


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    data: Optional[Dict[str, Any]] = None,
    signed: bool = False,
) -> Dict[str, Any]:
    body = json.dumps(data or {}).encode()
    headers = channel_headers(method, url, body, SECRET) if signed else dict(MAYA)
    headers["Content-Type"] = "application/json"
    async with session.request(method, url, data=body, headers=headers) as answer:
        assert answer.status < 300, await answer.text()
        return dict(await answer.json())


async def until(condition: Any, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def open_ticket(session: aiohttp.ClientSession, base: str, port: int) -> int:
    view = await call(
        session,
        "POST",
        f"{base}/api/channel/tickets",
        {
            "conversation_id": f"conv-{uuid.uuid4().hex[:6]}",
            "attempt": 1,
            "payload": {
                "channel_callback_url": f"http://127.0.0.1:{port}/webhooks/handover/events"
            },
        },
        signed=True,
    )
    return int(view["ticket_id"])


async def test_a_channel_that_was_down_gets_every_event_once_in_order(
    db: Tuple[str, Optional[str]], tmp_path: Path
) -> None:
    channel, port = Channel(tmp_path / "outbox.db"), free_port()
    app = await inbox_app(db)
    app.ctx.inbox_notifier.backoff_seconds = 0.1
    async with running_inbox(app) as base, aiohttp.ClientSession() as session:
        # The channel is down from the start: nothing listens on its port.
        ticket = await open_ticket(session, base, port)
        await call(session, "POST", f"{base}/api/tickets/{ticket}/claim")
        for text in ("Hi, Maya here.", "Your refund is on its way."):
            await call(
                session, "POST", f"{base}/api/tickets/{ticket}/reply", {"text": text}
            )
        await call(
            session,
            "POST",
            f"{base}/api/tickets/{ticket}/resolve",
            {"outcome": "escalation_needed"},
        )
        await asyncio.sleep(1.0)  # a few failed tries

        async with channel_listening(channel, port):
            await until(lambda: len(channel.applied) >= 4)
            await asyncio.sleep(1.5)  # time for a (wrong) second delivery

    assert channel.texts() == [
        ("accepted", None),
        ("message", "Hi, Maya here."),
        ("message", "Your refund is on its way."),
        ("resolved", None),
    ]


async def test_an_inbox_restart_loses_nothing_and_repeats_nothing(
    db: Tuple[str, Optional[str]], tmp_path: Path
) -> None:
    channel, port = Channel(tmp_path / "outbox.db"), free_port()
    async with channel_listening(channel, port), aiohttp.ClientSession() as session:
        first = await inbox_app(db)
        async with running_inbox(first) as base:
            ticket = await open_ticket(session, base, port)
            await call(session, "POST", f"{base}/api/tickets/{ticket}/claim")
            await call(
                session,
                "POST",
                f"{base}/api/tickets/{ticket}/reply",
                {"text": "before the restart"},
            )
            await until(lambda: len(channel.applied) >= 2)
            # The channel goes away; the agent goes on and resolves.
            channel.refusing = True
            await call(
                session,
                "POST",
                f"{base}/api/tickets/{ticket}/reply",
                {"text": "while the channel is away"},
            )
            await call(
                session,
                "POST",
                f"{base}/api/tickets/{ticket}/resolve",
                {"outcome": "escalation_needed"},
            )
            await asyncio.sleep(0.5)
        # The inbox stops with both events undelivered; it comes back, and so
        # does the channel.
        channel.refusing = False
        second = await inbox_app(db)
        async with running_inbox(second):
            await until(lambda: len(channel.applied) >= 4)
            await asyncio.sleep(1.5)

    assert channel.texts() == [
        ("accepted", None),
        ("message", "before the restart"),
        ("message", "while the channel is away"),
        ("resolved", None),
    ]


async def test_a_redelivered_event_is_applied_once(tmp_path: Path) -> None:
    """At least once from the inbox, once for the customer (and after a restart)."""
    channel = Channel(tmp_path / "outbox.db")
    body = json.dumps(
        {
            "conversation_id": "c1",
            "event": {"id": 41, "type": "message", "data": {"text": "hello"}},
            "ticket": {"conversation_id": "c1"},
        }
    ).encode()
    path = "/webhooks/handover/events"
    for _ in range(2):
        headers = sign("POST", path, body, KEYS.inbox_to_channel)
        status, answer = await channel.endpoint.handle("POST", path, body, headers)
        assert status == 200, answer

    assert channel.texts() == [("message", "hello")]
    # ... and remembered by a channel restarted on the same file.
    again = Channel(tmp_path / "outbox.db")
    assert 41 in again.endpoint.applied


@pytest.mark.parametrize(
    "key, message",
    [
        pytest.param(
            KEYS.channel_to_inbox, "does not match", id="channel-to-inbox-key"
        ),
        pytest.param(SECRET, "does not match", id="the-raw-shared-secret"),
    ],
)
async def test_an_event_signed_with_another_directions_key_is_refused(
    tmp_path: Path, key: str, message: str
) -> None:
    channel = Channel(tmp_path / "outbox.db")
    body = json.dumps(
        {
            "event": {"id": 7, "type": "resolved", "data": {}},
            "ticket": {"conversation_id": "c1"},
        }
    ).encode()
    path = "/webhooks/handover/events"

    status, answer = await channel.endpoint.handle(
        "POST", path, body, sign("POST", path, body, key)
    )

    assert status == 401 and message in answer["error"]
    assert channel.applied == []


async def test_an_event_the_channel_refuses_as_malformed_holds_nothing_back(
    tmp_path: Path,
) -> None:
    channel, port = Channel(tmp_path / "outbox.db"), free_port()
    channel.malformed = ("accepted",)
    app = await inbox_app((f"sqlite:///{tmp_path / 'inbox.db'}", None))
    async with channel_listening(channel, port), running_inbox(
        app
    ) as base, aiohttp.ClientSession() as session:
        ticket = await open_ticket(session, base, port)
        await call(session, "POST", f"{base}/api/tickets/{ticket}/claim")
        await call(
            session, "POST", f"{base}/api/tickets/{ticket}/reply", {"text": "Hi"}
        )
        await until(lambda: len(channel.applied) >= 1)

    assert channel.texts() == [("message", "Hi")]


async def test_an_event_that_cannot_be_applied_is_retried_then_given_up(
    tmp_path: Path,
) -> None:
    """A bug in applying one event neither repeats it forever nor blocks the rest."""
    from rasa_handover.channels.inbox_events import MAX_APPLY_ATTEMPTS

    channel = Channel(tmp_path / "outbox.db")
    tries: List[int] = []

    async def broken(event: Dict[str, Any], ticket: Dict[str, Any]) -> None:
        tries.append(event["id"])
        raise RuntimeError("the tracker store is down")

    channel.endpoint.apply = broken
    body = json.dumps(
        {
            "event": {"id": 9, "type": "resolved", "data": {}},
            "ticket": {"conversation_id": "c1"},
        }
    ).encode()
    path = "/webhooks/handover/events"
    statuses = []
    for _ in range(MAX_APPLY_ATTEMPTS + 1):
        headers = sign("POST", path, body, KEYS.inbox_to_channel)
        statuses.append((await channel.endpoint.handle("POST", path, body, headers))[0])

    assert statuses == [503] * (MAX_APPLY_ATTEMPTS - 1) + [200, 200]
    assert len(tries) == MAX_APPLY_ATTEMPTS


@pytest.mark.parametrize(
    "event_type, data, told",
    [
        pytest.param("message", {"sender": "agent", "text": "Hi"}, True, id="agent"),
        pytest.param("message", {"sender": "customer"}, False, id="customer-echo"),
        pytest.param(
            "queued",
            {"no_agent_reason": "nobody_online", "estimated_wait_seconds": 60},
            False,
            id="first-queued-told-in-the-answer",
        ),
        pytest.param(
            "queued", {"reason": "agent_offline"}, False, id="bare-requeue-no-wait"
        ),
        pytest.param(
            "queued",
            {"reason": "agent_offline", "estimated_wait_seconds": 300},
            True,
            id="requeued-with-the-new-wait",
        ),
        pytest.param("requested", {}, False, id="requested"),
        pytest.param("resolved", {"outcome": "x"}, True, id="resolved"),
    ],
)
def test_which_stored_events_the_channel_is_told(
    event_type: str, data: Dict[str, Any], told: bool
) -> None:
    """One rule for the embedded channel and the table-based delivery."""
    from rasa_handover.inbox.models import LifecycleEvent
    from rasa_handover.inbox.publisher import customer_facing

    assert customer_facing(LifecycleEvent(1, 1, event_type, data)) is told

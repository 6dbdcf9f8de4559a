"""A message sent again under its client message id is stored once.

The channel's outbox retries a relayed message whose call timed out; the inbox
may have stored it already. With `client_message_id` (the idempotency key of
`contract.CLIENT_MESSAGE_ID`) the ticket keeps one message and announces one
event, whether the repeat comes later, at the same time (PostgreSQL: two
transactions; SQLite: one group commit), or in a later group commit. Real
inbox apps over real HTTP, on SQLite files and PostgreSQL schemas.
"""

import asyncio
import json
import socket
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

import aiohttp
import pytest

from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.contract import (
    CLIENT_MESSAGE_ID,
    EVENT_MESSAGE,
    PATH_CHANNEL_MESSAGES,
    PATH_CHANNEL_TICKETS,
    SENDER_CUSTOMER,
)
from rasa_handover.inbox.email_delivery import EmailSettings
from rasa_handover.inbox.limits import MAX_CLIENT_MESSAGE_ID_CHARS
from rasa_handover.inbox.service import InboxService
from rasa_handover.inbox.store import InboxStore
from tests.inbox.conftest import (
    POSTGRES_SKIP_REASON,
    PostgresSchemas,
    postgres_url,
    running,
)
from tests.signed import channel_headers

SECRET = "channel-secret"
MAYA = {"Authorization": "Bearer token-maya"}
CONFIG = InboxConfig(
    agents=(AgentConfig("Maya", "token-maya", teams=("general",)),),
    shared_secret=SECRET,
    housekeeping_seconds=0,
)
PAYLOAD = {"trigger": {"reason": "explicit_request"}}
# Rasa's `UserMessage.message_id`: a UUID's hex digits.
KEY = "4f9c2a1e8b7d4c3f9a0b1c2d3e4f5a6b"


class Inbox:
    """A served inbox app and signed calls to it."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session

    async def post(self, path: str, data: Dict[str, Any]) -> Tuple[int, Any]:
        body = json.dumps(data).encode()
        url = f"{self.url}{path}"
        headers = channel_headers("POST", url, body, SECRET)
        async with self.session.post(url, data=body, headers=headers) as answer:
            return answer.status, await answer.json()

    async def relay(
        self, text: str, key: Optional[Any] = KEY, conversation: str = "c1"
    ) -> Tuple[int, Any]:
        data = {"conversation_id": conversation, "text": text}
        if key is not None:
            data[CLIENT_MESSAGE_ID] = key
        return await self.post(PATH_CHANNEL_MESSAGES, data)

    async def hand_over(self, conversation: str = "c1") -> int:
        status, view = await self.post(
            PATH_CHANNEL_TICKETS,
            {"conversation_id": conversation, "attempt": 1, "payload": PAYLOAD},
        )
        assert status == 201, view
        return int(view["ticket_id"])


@pytest.fixture(params=["sqlite", "postgresql"])
async def inbox(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Tuple[Inbox, InboxStore]]:
    """A standalone inbox app on a real socket, and a store on its database."""
    schemas: Optional[PostgresSchemas] = None
    schema: Optional[str] = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'inbox.db'}"
    else:
        found = postgres_url()
        if found is None:
            pytest.skip(POSTGRES_SKIP_REASON)
        url, schemas = found, PostgresSchemas(found)
        schema = await schemas.new()
    app = create_app(url, CONFIG, name=f"idem_{uuid.uuid4().hex[:10]}", schema=schema)
    try:
        async with running(app) as base, aiohttp.ClientSession() as session:
            yield Inbox(base, session), app.ctx.inbox_service.store
    finally:
        if schemas is not None:
            await schemas.drop_all()


async def stored(store: InboxStore, ticket_id: int) -> Tuple[List[str], int]:
    """The ticket's customer messages and how many `message` events it has."""
    messages = await store.messages(ticket_id)
    events = await store.events(ticket_id=ticket_id)
    return (
        [m.text for m in messages if m.sender == SENDER_CUSTOMER],
        sum(1 for event in events if event.type == EVENT_MESSAGE),
    )


async def test_a_repeated_relay_call_stores_one_message(
    inbox: Tuple[Inbox, InboxStore],
) -> None:
    api, store = inbox
    ticket_id = await api.hand_over()

    first = await api.relay("where is my order?")
    again = await api.relay("where is my order?")
    other = await api.relay("it is 1182", key="another-key")

    assert (first[0], again[0], other[0]) == (201, 200, 201)
    assert again[1]["message"] == first[1]["message"]
    assert first[1]["message"][CLIENT_MESSAGE_ID] == KEY
    assert again[1]["relayed"] is True and again[1]["ticket"]["ticket_id"] == ticket_id
    assert await stored(store, ticket_id) == (["where is my order?", "it is 1182"], 2)


async def test_concurrent_repeats_store_one_message(
    inbox: Tuple[Inbox, InboxStore],
) -> None:
    """Sent at once: on PostgreSQL concurrent transactions race for the unique
    index; on SQLite the calls share group commits."""
    api, store = inbox
    ticket_id = await api.hand_over()

    answers = await asyncio.gather(*(api.relay("hello?") for _ in range(8)))

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 7 + [201]
    assert len({body["message"]["id"] for _, body in answers}) == 1
    assert await stored(store, ticket_id) == (["hello?"], 1)


async def test_without_a_key_every_call_is_a_new_message(
    inbox: Tuple[Inbox, InboxStore],
) -> None:
    """An old channel sends no key: its messages are stored as before."""
    api, store = inbox
    ticket_id = await api.hand_over()

    answers = [await api.relay("hello?", key=None) for _ in range(2)]

    assert [status for status, _ in answers] == [201, 201]
    assert await stored(store, ticket_id) == (["hello?", "hello?"], 2)


async def test_the_key_is_per_ticket(inbox: Tuple[Inbox, InboxStore]) -> None:
    """Two conversations whose clients chose the same key keep both messages."""
    api, store = inbox
    first_ticket = await api.hand_over("c1")
    second_ticket = await api.hand_over("c2")

    one = await api.relay("from c1", conversation="c1")
    two = await api.relay("from c2", conversation="c2")

    assert (one[0], two[0]) == (201, 201)
    assert await stored(store, first_ticket) == (["from c1"], 1)
    assert await stored(store, second_ticket) == (["from c2"], 1)


async def test_a_repeated_agent_reply_is_stored_once(
    inbox: Tuple[Inbox, InboxStore],
) -> None:
    api, store = inbox
    ticket_id = await api.hand_over()
    url = f"{api.url}/api/tickets/{ticket_id}/reply"
    body = {"text": "Hi, I'm Maya.", CLIENT_MESSAGE_ID: "reply-1"}

    answers = []
    for _ in range(2):
        async with api.session.post(url, json=body, headers=MAYA) as answer:
            answers.append((answer.status, (await answer.json())["message"]["id"]))
    events = await store.events(ticket_id=ticket_id)

    assert answers[0] == answers[1]
    assert [m.text for m in await store.messages(ticket_id)] == ["Hi, I'm Maya."]
    assert sum(1 for event in events if event.type == EVENT_MESSAGE) == 1


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(42, id="a-number"),
        pytest.param("", id="empty"),
        pytest.param("k" * (MAX_CLIENT_MESSAGE_ID_CHARS + 1), id="too-long"),
        pytest.param("two words", id="a-space"),
        pytest.param("clé", id="not-ascii"),
        pytest.param("line\nbreak", id="a-control-character"),
        pytest.param(["a"], id="a-list"),
    ],
)
async def test_a_bad_key_is_a_400_naming_it(
    inbox: Tuple[Inbox, InboxStore], key: Any
) -> None:
    api, store = inbox
    ticket_id = await api.hand_over()

    status, answer = await api.relay("hello?", key=key)

    assert (status, answer["field"]) == (400, CLIENT_MESSAGE_ID)
    assert "visible ASCII" in answer["error"]
    assert await stored(store, ticket_id) == ([], 0)


@pytest.fixture
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def sqlite_file_store(tmp_path: Path) -> AsyncIterator[InboxStore]:
    created = InboxStore(f"sqlite:///{tmp_path / 'inbox.db'}")
    await created.create_all()
    yield created
    await created.close()


async def test_group_commit_stores_a_repeat_once_within_and_across_batches(
    sqlite_file_store: InboxStore,
) -> None:
    """SQLite's group commit: repeats submitted together share one transaction
    (each in its own savepoint); a later repeat comes in another batch."""
    store = sqlite_file_store
    ticket, _ = await store.create_ticket("c1", 1, PAYLOAD)

    same_batch = await asyncio.gather(
        *(store.add_customer_message("c1", "hello?", KEY) for _ in range(5)),
        store.add_customer_message("c1", "second", "key-2"),
        store.add_customer_message("c1", "second", "key-2"),
    )
    later_batch = await store.add_customer_message("c1", "hello?", KEY)

    changes = [*same_batch, later_batch]
    assert all(change is not None for change in changes)
    messages = {change.message.id for change in changes if change and change.message}
    announced = [change for change in changes if change and change.event]
    assert len(messages) == 2
    assert len(announced) == 2
    assert await stored(store, ticket.id) == (["hello?", "second"], 2)


async def test_a_repeated_left_message_is_stored_once(
    store: InboxStore, free_port: int
) -> None:
    """Leave-a-message retried by the outbox: the ticket keeps one copy. (The
    e-mail settings point at a closed port: nothing is e-mailed here.)"""
    email = EmailSettings.from_dict(
        {"host": "127.0.0.1", "port": free_port, "security": "none", "from": "a@b.c"}
    )
    service = InboxService(store, email=email)
    await service.request_handover("c1", 1, PAYLOAD)

    for _ in range(2):
        view = await service.leave_message(
            "c1", "dana@example.com", "Invoice 1182?", PAYLOAD, KEY
        )

    assert await stored(store, view.ticket_id) == (["Invoice 1182?"], 1)

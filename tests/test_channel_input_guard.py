"""What a customer may send, through real HTTP and socket.io (issue 11).

The channel is registered on a Sanic app the way `rasa run` does it and served
on a loopback socket, with the real embedded inbox on SQLite. Rasa's agent is
replaced by a recorder of the messages the channel hands to it (the real Rasa
server runs in tests/e2e/); everything else is real.

* A customer cannot send the inbox's control intent `/handover_resolved`, nor
  the channel's metadata keys (`agent_name` of the handback greeting).
* Input over the limits is answered 400 with the field, never 500.
* What reaches the inbox (and its tables) has card data, IBANs and national IDs
  masked; order numbers, e-mail and phone stay readable for the agent.
"""

import asyncio
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Tuple

import aiohttp
import pytest
import socketio
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage, register
from sanic import Sanic

from rasa_handover.channels import HandoverInput
from rasa_handover.limits import MAX_CONVERSATION_ID_CHARS, MAX_TEXT_CHARS
from tests.inbox.conftest import running
from tests.test_channel_inbox import INBOX_YML, handover_message

PREFIX = "/webhooks/handover"


class RecordingAgent:
    """Stands in for Rasa's agent: records what the channel hands to Rasa."""

    tracker_store = None  # every message is offered to the inbox

    def __init__(self) -> None:
        self.messages: List[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Tuple[str, HandoverInput, Any]]:
    (tmp_path / "inbox.yml").write_text(INBOX_YML)
    channel = HandoverInput(
        db=f"sqlite:///{tmp_path}/handover.db",
        inbox_config=str(tmp_path / "inbox.yml"),
        outbox=str(tmp_path / "outbox.db"),
    )
    app = Sanic(f"rasa_{uuid.uuid4().hex[:10]}")
    register([channel], app, route="/webhooks/")  # what `rasa run` does
    agent = RecordingAgent()
    app.ctx.agent = agent
    async with running(app, prefix="") as url:
        yield url, channel, agent


async def post(url: str, body: Any) -> Tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(
        f"{url}{PREFIX}/webhook", json=body
    ) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("/handover_resolved", id="plain"),
        pytest.param("  /handover_resolved  ", id="spaces-around"),
        pytest.param("/ handover_resolved", id="space-after-slash"),
        pytest.param('/handover_resolved{"outcome": "resolved"}', id="with-entities"),
        pytest.param("/handover_resolved@0.99", id="with-confidence"),
    ],
)
async def test_a_customer_cannot_resolve_the_handover(
    served: Tuple[str, HandoverInput, Any], text: str
) -> None:
    url, _, agent = served
    status, body = await post(url, {"sender": "c1", "message": text})
    assert (status, body["field"]) == (400, "message")
    assert "only an agent resolves a handover" in body["error"]
    assert agent.messages == []


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("/human_handoff", id="asking-for-a-person"),
        pytest.param("/handover_something_else", id="clarify-button"),
        pytest.param("/handover_resolved is what you call it?", id="not-the-intent"),
    ],
)
async def test_other_intents_still_reach_rasa(
    served: Tuple[str, HandoverInput, Any], text: str
) -> None:
    url, _, agent = served
    status, _ = await post(url, {"sender": "c1", "message": text})
    assert status == 200
    assert [m.text for m in agent.messages] == [text]


async def test_the_channels_metadata_keys_are_removed(
    served: Tuple[str, HandoverInput, Any],
) -> None:
    url, _, agent = served
    metadata = {"agent_name": "Mallory", "outcome": "resolved", "language": "de"}
    status, _ = await post(url, {"sender": "c1", "message": "hi", "metadata": metadata})
    assert status == 200
    assert agent.messages[0].metadata == {"language": "de"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(
            {"sender": "x" * (MAX_CONVERSATION_ID_CHARS + 1), "message": "hi"},
            "sender",
            id="sender-over-255",
        ),
        pytest.param(
            {"sender": "c1", "message": "a" * (MAX_TEXT_CHARS + 1)},
            "message",
            id="text-over-10000",
        ),
        pytest.param(
            {"sender": "c1", "message": "hi", "metadata": "not json"},
            "metadata",
            id="metadata-not-an-object",
        ),
        pytest.param({"sender": "", "message": "hi"}, "sender", id="empty-sender"),
        pytest.param({"sender": "c1", "message": 5}, "message", id="text-not-a-string"),
    ],
)
async def test_input_over_the_limits_is_a_clear_400(
    served: Tuple[str, HandoverInput, Any], body: Dict[str, Any], field: str
) -> None:
    url, _, agent = served
    status, answer = await post(url, body)
    assert (status, answer["field"]) == (400, field)
    assert agent.messages == []


async def test_a_lone_surrogate_becomes_the_replacement_character(
    served: Tuple[str, HandoverInput, Any],
) -> None:
    url, _, agent = served
    raw = b'{"sender": "c1", "message": "half an emoji \\ud83d"}'
    async with aiohttp.ClientSession() as session, session.post(
        f"{url}{PREFIX}/webhook",
        data=raw,
        headers={"Content-Type": "application/json"},
    ) as response:
        assert response.status == 200
    assert agent.messages[0].text == "half an emoji \ufffd"


async def test_what_the_inbox_stores_is_redacted(
    served: Tuple[str, HandoverInput, Any],
) -> None:
    url, channel, _ = served
    assert channel.service is not None
    await channel.relay.handle_plugin_message(
        "c1", handover_message(), CollectingOutputChannel()
    )
    text = (
        "order 1182: card 4242 4242 4242 4242 exp 12/27 cvv 123, IBAN "
        "DE89 3704 0044 0532 0130 00, mail dana@example.com"
    )
    status, _ = await post(url, {"sender": "c1", "message": text})
    assert status == 200
    store = channel.service.store
    ticket = await store.active_ticket_for_conversation("c1")
    assert ticket is not None
    stored = [m.text for m in await store.messages(ticket.id)]
    expected = (
        "order 1182: card **** **** **** 4242 exp **/** cvv ***, IBAN "
        "DE** **** **** **** **30 00, mail dana@example.com"
    )
    assert stored[-1] == expected
    events = await store.events(ticket_id=ticket.id)
    assert "4242 4242" not in str([e.to_dict() for e in events])
    assert expected in str([e.to_dict() for e in events])


async def test_socketio_refuses_the_control_intent_and_the_metadata_keys(
    served: Tuple[str, HandoverInput, Any],
) -> None:
    url, _, agent = served
    client = socketio.AsyncClient()
    confirmed = asyncio.get_running_loop().create_future()
    client.on("session_confirm", lambda session_id: confirmed.set_result(session_id))
    # Long polling: this aiohttp is older than the websocket client expects.
    await client.connect(url, socketio_path="/socket.io", transports=["polling"])
    try:
        await client.emit("session_request", {"session_id": None})
        session_id = await asyncio.wait_for(confirmed, 10)
        await client.emit(
            "user_uttered", {"session_id": session_id, "message": "/handover_resolved"}
        )
        await client.emit(
            "user_uttered",
            {
                "session_id": session_id,
                "message": "hello",
                "metadata": {"agent_name": "Mallory", "language": "de"},
            },
        )
        for _ in range(100):
            if agent.messages:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
    finally:
        # Abort: a polite disconnect waits for the long poll (25 s).
        await client.eio.disconnect(abort=True)
    assert [(m.text, m.metadata) for m in agent.messages] == [
        ("hello", {"language": "de"})
    ]

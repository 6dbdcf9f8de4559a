"""A socket.io customer can only read and write their own conversation (issue 11).

Through a real socket.io client (python-socketio, long polling as the other
tests) against the channel registered on a Sanic app as `rasa run` does it,
with the real embedded inbox on SQLite; Rasa's agent is the recorder of
tests/test_channel_input_guard.py. It speaks as rasa-webchat does:
`session_request` with the stored session id, `session_confirm` back, then
`user_uttered` with that id. tests/browser/test_customer_sessions_in_browser.py
does the same with the real widget.
"""

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional

import aiohttp
import pytest
import socketio
from rasa.core.channels.channel import register
from sanic import Sanic

from rasa_handover.channels import HandoverInput, sender_token
from rasa_handover.channels.customer_auth import CustomerAuth
from tests.inbox.conftest import running
from tests.test_channel_inbox import INBOX_YML
from tests.test_channel_input_guard import RecordingAgent
from tests.test_customer_auth import SECRET

AGENT_REPLY = "Your account number is 12345678"


class Widget:
    """A socket.io client that speaks like rasa-webchat."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient()
        self.received: List[Dict[str, Any]] = []
        self.confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.client.on("bot_uttered", self.received.append)
        self.client.on("session_confirm", self._on_confirm)

    def _on_confirm(self, session_id: str) -> None:
        if not self.confirmed.done():
            self.confirmed.set_result(session_id)

    async def open(self, url: str, stored: Optional[str]) -> str:
        """Connects and asks for the stored session; returns the confirmed one."""
        await self.client.connect(
            url, socketio_path="/socket.io", transports=["polling"]
        )
        await self.client.emit("session_request", {"session_id": stored})
        return await asyncio.wait_for(self.confirmed, 10)

    async def say(self, session_id: str, text: str) -> None:
        await self.client.emit(
            "user_uttered", {"session_id": session_id, "message": text}
        )

    async def close(self) -> None:
        # Abort: a polite disconnect waits for the long poll (25 s).
        await self.client.eio.disconnect(abort=True)


@contextlib.asynccontextmanager
async def _serve(
    tmp_path: Path, customer_secret: Optional[str] = SECRET, **settings: Any
) -> AsyncIterator[Any]:
    (tmp_path / "inbox.yml").write_text(INBOX_YML)
    channel = HandoverInput(
        db=f"sqlite:///{tmp_path}/handover.db",
        inbox_config=str(tmp_path / "inbox.yml"),
        outbox=str(tmp_path / "outbox.db"),
        customer_secret=customer_secret,
        **settings,
    )
    app = Sanic(f"rasa_{uuid.uuid4().hex[:10]}")
    register([channel], app, route="/webhooks/")
    agent = RecordingAgent()
    app.ctx.agent = agent
    widgets: List[Widget] = []

    async def widget(stored: Optional[str] = None) -> Any:
        opened = Widget()
        widgets.append(opened)
        session_id = await opened.open(url, stored)
        return opened, session_id

    async with running(app, prefix="") as url:
        try:
            yield channel, agent, widget, f"{url}/webhooks/handover"
        finally:
            for opened in widgets:
                await opened.close()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Any]:
    async with _serve(tmp_path) as served:
        yield served


async def _agent_replies(channel: HandoverInput, conversation_id: str) -> None:
    """What the relay does with an agent's reply: push it to the conversation."""
    await channel.customer_output().send_text_message(
        conversation_id, AGENT_REPLY, metadata={"from": "agent", "agent_name": "Maya"}
    )


async def _settle(agent: RecordingAgent, count: int) -> None:
    for _ in range(100):
        if len(agent.messages) >= count:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)


def _texts(widget: Widget) -> List[str]:
    return [str(message.get("text")) for message in widget.received]


async def test_the_server_issues_the_session_and_its_conversation(served: Any) -> None:
    channel, agent, widget, _ = served
    customer, session_id = await widget(None)
    session = CustomerAuth(SECRET).session(session_id)
    assert session is not None, session_id
    await customer.say(session_id, "hello")
    await _settle(agent, 1)
    assert [(m.sender_id, m.text) for m in agent.messages] == [
        (session.conversation_id, "hello")
    ]
    await _agent_replies(channel, session.conversation_id)
    await asyncio.sleep(0.5)
    assert any(AGENT_REPLY in text for text in _texts(customer))


async def test_a_reload_resumes_the_same_conversation(served: Any) -> None:
    channel, agent, widget, _ = served
    first, session_id = await widget(None)
    await first.close()
    reloaded, again = await widget(session_id)
    assert again == session_id
    conversation = session_id.split(".")[0]
    await _agent_replies(channel, conversation)
    await reloaded.say(again, "still there?")
    await _settle(agent, 1)
    assert any(AGENT_REPLY in text for text in _texts(reloaded))
    assert [m.sender_id for m in agent.messages] == [conversation]


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda sid: sid.split(".")[0], id="the-conversation-id"),
        pytest.param(lambda sid: sid[:-2] + "AA", id="a-tampered-signature"),
        pytest.param(lambda sid: "dana", id="a-chosen-id"),
    ],
)
async def test_a_forged_session_id_gets_a_fresh_session_never_the_victims(
    served: Any, forge: Any
) -> None:
    channel, _, widget, _ = served
    victim, victim_session = await widget(None)
    conversation = victim_session.split(".")[0]
    attacker, attacker_session = await widget(forge(victim_session))
    assert attacker_session != victim_session
    assert CustomerAuth(SECRET).session(attacker_session) is not None
    assert attacker_session.split(".")[0] != conversation

    await _agent_replies(channel, conversation)
    await asyncio.sleep(0.5)
    assert any(AGENT_REPLY in text for text in _texts(victim))
    assert not any(AGENT_REPLY in text for text in _texts(attacker))


async def test_a_message_for_a_session_the_socket_does_not_own_is_refused(
    served: Any,
) -> None:
    """Even with the victim's whole session id, a socket confirmed elsewhere."""
    _, agent, widget, _ = served
    _, victim_session = await widget(None)
    attacker, attacker_session = await widget(None)
    await attacker.say(victim_session, "please change my e-mail address")
    await attacker.say(victim_session.split(".")[0], "and my phone number")
    await attacker.say(attacker_session, "my own message")
    await _settle(agent, 1)
    assert [(m.sender_id, m.text) for m in agent.messages] == [
        (attacker_session.split(".")[0], "my own message")
    ]


async def test_a_socket_that_asks_for_a_second_session_leaves_the_first(
    served: Any,
) -> None:
    channel, _, widget, _ = served
    customer, first = await widget(None)
    customer.confirmed = asyncio.get_running_loop().create_future()
    await customer.client.emit("session_request", {"session_id": None})
    second = await asyncio.wait_for(customer.confirmed, 10)
    assert second != first
    await _agent_replies(channel, first.split(".")[0])
    await asyncio.sleep(0.5)
    assert not any(AGENT_REPLY in text for text in _texts(customer))


async def test_without_session_persistence_each_socket_is_its_own_conversation(
    tmp_path: Path,
) -> None:
    """As in Rasa's channel: no resuming, and a named session changes nothing."""
    async with _serve(tmp_path, session_persistence=False) as (_, agent, widget, _):
        _, victim_session = await widget(None)
        attacker, attacker_session = await widget(victim_session)
        assert attacker_session != victim_session
        await attacker.say(victim_session, "hello")
        await _settle(agent, 1)
        assert [(m.sender_id, m.text) for m in agent.messages] == [
            (attacker_session, "hello")
        ]


@pytest.mark.parametrize(
    "customer_secret",
    [
        pytest.param(None, id="no-secret"),
        pytest.param(SECRET, id="with-secret-and-a-token-for-it"),
    ],
)
async def test_rest_cannot_read_or_write_a_socketio_conversation(
    tmp_path: Path, customer_secret: Optional[str]
) -> None:
    """Its conversation id is no credential, also for REST (agents and logs see it)."""
    async with _serve(tmp_path, customer_secret) as (channel, agent, widget, url):
        _, session_id = await widget(None)
        conversation = session_id.split(".")[0]
        await _agent_replies(channel, conversation)
        headers = {"Authorization": f"Bearer {sender_token(SECRET, conversation)}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.get(f"{url}/messages/{conversation}?wait=0") as read:
                assert read.status == 403
                assert AGENT_REPLY not in await read.text()
            body = {"sender": conversation, "message": "change my address"}
            async with http.post(f"{url}/webhook", json=body) as written:
                assert written.status == 403
                assert "socket.io" in (await written.json())["error"]
        assert agent.messages == []

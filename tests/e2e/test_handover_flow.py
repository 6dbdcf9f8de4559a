"""The whole handover with real processes and real HTTP.

A trained example bot served by `rasa run` with the handover channel (embedded
inbox on SQLite), a real action server (`rasa run actions --actions
rasa_handover.actions`), a customer over the channel's REST endpoint (with
the sender token its backend makes) and socket.io, and an agent over the inbox
API. Nothing is mocked.
"""

import asyncio
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import requests
import socketio

from rasa_handover.channels import sender_token
from tests.e2e.servers import ensure_example_model, rasa_server

pytestmark = pytest.mark.e2e

CUSTOMER_SECRET = "e2e-customer-secret-0123456789abcdefghij"
MAYA_TOKEN = "maya-token-0123456789abcdef0123456789ab"
SAM_TOKEN = "sam-token-0123456789abcdef0123456789ab"
INBOX_YML = f"""
agents:
  - name: Maya
    token: {MAYA_TOKEN}
    teams: [general, billing, technical]
    languages: [en]
    capacity: 3
  - name: Sam
    token: {SAM_TOKEN}
    teams: [compliance]
    languages: [en, de]
    tier: senior
    capacity: 2
housekeeping_seconds: 1
# The agents here are API clients that go online once and hold no event stream.
presence_grace_seconds: 0
# Regulated: compliance tickets wait for Sam (the busy-team test needs a queue).
routing:
  fallback:
    compliance: []
"""


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, example_action_server: str
) -> Iterator[str]:
    model = ensure_example_model()
    workdir: Path = tmp_path_factory.mktemp("e2e")
    (workdir / "inbox.yml").write_text(INBOX_YML)
    credentials = f"""
rasa_handover.channels.HandoverInput:
  db: sqlite:///{workdir}/handover.db
  outbox: {workdir}/outbox.db
  inbox_config: {workdir}/inbox.yml
  support_email: help@streamly.example
  customer_secret: {CUSTOMER_SECRET}
"""
    with rasa_server(workdir, model, credentials, example_action_server) as base:
        for token in (MAYA_TOKEN, SAM_TOKEN):
            agent(base, "POST", "/agents/me/availability", token, json={"online": True})
        yield base


def customer(sender: str) -> Dict[str, str]:
    """The headers of `sender`'s requests: the token their backend gives them."""
    return {"Authorization": f"Bearer {sender_token(CUSTOMER_SECRET, sender)}"}


def say(base: str, sender: str, text: str) -> List[Dict[str, Any]]:
    answer = requests.post(
        f"{base}/webhooks/handover/webhook",
        json={"sender": sender, "message": text},
        headers=customer(sender),
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def agent(
    base: str, method: str, path: str, token: str = MAYA_TOKEN, **kwargs: Any
) -> Any:
    answer = requests.request(
        method,
        f"{base}/webhooks/handover/inbox/api{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        **kwargs,
    )
    assert answer.status_code < 300, (
        f"{method} {path}: {answer.status_code} {answer.text}"
    )
    return answer.json()


def poll(
    base: str, sender: str, after: int = 0, wait: float = 10
) -> List[Dict[str, Any]]:
    answer = requests.get(
        f"{base}/webhooks/handover/messages/{sender}",
        params={"after": after, "wait": wait},
        headers=customer(sender),
        timeout=wait + 10,
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["messages"])


def ticket_for(base: str, sender: str, token: str = MAYA_TOKEN) -> Dict[str, Any]:
    queue = agent(base, "GET", "/queue", token)
    mine = [t for t in queue["tickets"] if t["conversation_id"] == sender]
    assert len(mine) == 1, queue
    return dict(mine[0])


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [str(m.get("text", "")) for m in messages]


def test_full_handover_round_trip(server: str) -> None:
    dana = f"dana-{uuid.uuid4().hex[:6]}"
    assert say(server, dana, "hi")  # the bot answers by itself

    ack = texts(say(server, dana, "I want to talk to a human"))
    # Acknowledged with a real agent's name, never "how can I help?".
    assert any("Maya" in t for t in ack), ack

    ticket = ticket_for(server, dana)
    details = agent(server, "GET", f"/tickets/{ticket['id']}")
    payload = details["payload"]
    assert payload["trigger"]["reason"] == "explicit_request"
    transcript = [entry["text"] for entry in payload["transcript"]]
    assert "hi" in transcript and "I want to talk to a human" in transcript
    assert "handover_active" not in payload["slots"]  # internal slots stay internal
    assert payload["conversation_id"] == dana

    # The agent replies; the customer receives it.
    agent(server, "POST", f"/tickets/{ticket['id']}/claim")
    agent(
        server, "POST", f"/tickets/{ticket['id']}/reply", json={"text": "Hi, I'm Maya!"}
    )
    received = poll(server, dana)
    assert "Hi, I'm Maya!" in texts(received)
    last_id = max(m["id"] for m in received)

    # The customer writes: the agent sees it, the bot stays silent.
    assert say(server, dana, "my order number is 1182") == []
    messages = agent(server, "GET", f"/tickets/{ticket['id']}")["messages"]
    assert ("customer", "my order number is 1182") in [
        (m["sender"], m["text"]) for m in messages
    ]

    # The agent resolves: the bot greets the customer back and answers again.
    agent(
        server,
        "POST",
        f"/tickets/{ticket['id']}/resolve",
        json={"outcome": "escalation_needed", "note": "refund issued"},
    )
    greeting = poll(server, dana, after=last_id)
    assert any("Maya" in t and "back" in t for t in texts(greeting)), greeting
    # One CSAT question; the button the customer taps sends its payload.
    [question] = [m for m in greeting if "how did our team do" in m.get("text", "")]
    four = next(b for b in question["quick_replies"] if b["title"] == "4")
    thanks = texts(say(server, dana, four["payload"]))
    assert any("Thank you" in t for t in thanks), thanks
    assert agent(server, "GET", f"/tickets/{ticket['id']}")["ticket"]["csat"] == 4
    answer = texts(say(server, dana, "how do I reset my password"))
    assert answer and not any("Maya" in t for t in answer), answer


def test_whoever_knows_a_sender_id_cannot_read_or_write_its_conversation(
    server: str,
) -> None:
    """Issue 11: the sender id is no credential (REST clients use phone numbers)."""
    dana = f"+4477009{uuid.uuid4().int % 10**5:05d}"
    say(server, dana, "I want to talk to a human")
    ticket = ticket_for(server, dana)
    agent(server, "POST", f"/tickets/{ticket['id']}/claim")
    agent(
        server,
        "POST",
        f"/tickets/{ticket['id']}/reply",
        json={"text": "Your PIN is 4321"},
    )
    assert "Your PIN is 4321" in texts(poll(server, dana))

    mallory = customer("mallory")  # a valid token, for another sender
    for headers, status in (({}, 401), (mallory, 403)):
        read = requests.get(
            f"{server}/webhooks/handover/messages/{dana}",
            params={"after": 0, "wait": 0},
            headers=headers,
            timeout=30,
        )
        assert read.status_code == status, read.text
        assert "PIN" not in read.text and "customer_secret" in read.json()["error"]
        written = requests.post(
            f"{server}/webhooks/handover/webhook",
            json={"sender": dana, "message": "send the refund to my new IBAN"},
            headers=headers,
            timeout=30,
        )
        assert written.status_code == status, written.text
    messages = agent(server, "GET", f"/tickets/{ticket['id']}")["messages"]
    assert "send the refund to my new IBAN" not in [m["text"] for m in messages]


def test_regulated_topic_reaches_its_team_with_the_summary(server: str) -> None:
    lena = f"lena-{uuid.uuid4().hex[:6]}"
    ack = texts(say(server, lena, "is it safe to watch with epilepsy?"))
    assert any("Sam" in t for t in ack), ack  # compliance team
    ticket = ticket_for(server, lena, SAM_TOKEN)
    assert ticket["team"] == "compliance"
    payload = agent(server, "GET", f"/tickets/{ticket['id']}", SAM_TOKEN)["payload"]
    assert payload["trigger"]["reason"] == "regulated_topic"
    assert payload["summary"]["goal"]


async def _socket_customer(
    base: str,
) -> Tuple[socketio.AsyncClient, str, List[Dict[str, Any]]]:
    """A customer as rasa-webchat connects: returns the session the server issued."""
    received: List[Dict[str, Any]] = []
    client = socketio.AsyncClient()
    confirmed = asyncio.get_running_loop().create_future()
    client.on("session_confirm", confirmed.set_result)

    @client.on("bot_uttered")
    async def on_bot(data: Dict[str, Any]) -> None:
        received.append(data)

    # Long-polling: engine.io's websocket client needs a newer aiohttp than the
    # one Rasa 3.6 pins. Browsers (rasa-webchat) upgrade to websockets as usual.
    await client.connect(base, socketio_path="/socket.io", transports=["polling"])
    await client.emit("session_request", {"session_id": None})
    session_id = await asyncio.wait_for(confirmed, 20)
    return client, session_id, received


async def _wait_for(
    received: List[Dict[str, Any]], predicate: Any, timeout: float = 20
) -> Dict[str, Any]:
    deadline = asyncio.get_event_loop().time() + timeout
    while asyncio.get_event_loop().time() < deadline:
        for message in received:
            if predicate(message):
                return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"not received; got {received}")


async def test_socketio_customer_gets_the_agents_reply(server: str) -> None:
    client, session, received = await _socket_customer(server)
    conversation = session.split(".")[0]  # the conversation id in Rasa and the inbox
    try:
        await client.emit(
            "user_uttered", {"message": "agent please", "session_id": session}
        )
        await _wait_for(received, lambda m: "Maya" in str(m.get("text")))
        ticket = await asyncio.to_thread(ticket_for, server, conversation)
        await asyncio.to_thread(
            agent,
            server,
            "POST",
            f"/tickets/{ticket['id']}/reply",
            json={"text": "Maya here"},
        )
        reply = await _wait_for(
            received, lambda m: str(m.get("text")).endswith("Maya here")
        )
        # rasa-webchat shows no sender: the agent's name is the bold first line.
        assert reply["text"] == "**Maya**\n\nMaya here"
        assert reply["metadata"]["agent_name"] == "Maya"
        assert reply["metadata"]["customCss"]["css"].startswith("rw-handover-agent")
    finally:
        await client.disconnect()


def test_busy_team_puts_the_customer_in_line_with_an_honest_wait(server: str) -> None:
    """Sam (compliance) takes two conversations at most; the next one waits."""
    queued: List[str] = []
    for _ in range(3):
        customer = f"wait-{uuid.uuid4().hex[:6]}"
        ack = texts(say(server, customer, "can the flashing lights give me a seizure?"))
        if any("in line" in t for t in ack):
            queued = ack
            break
    assert queued, "no customer was queued although Sam's capacity is 2"
    line = next(t for t in queued if "in line" in t)
    assert "number 1 in line" in line and "minute" in line, queued
    # Offered alternatives instead of a silent wait.
    assert not any("Sam" in t for t in queued)


def test_account_lookup_makes_a_vip_a_hair_trigger(server: str) -> None:
    """The example bot's session start looks the customer up (accounts.yml)."""
    alex = f"alex-{uuid.uuid4().hex[:6]}"
    first = requests.post(
        f"{server}/webhooks/handover/webhook",
        json={"sender": alex, "message": "hi", "metadata": {"customer_id": "alex"}},
        headers=customer(alex),
        timeout=60,
    )
    assert first.status_code == 200
    # One frustration signal is enough for a VIP (two for everyone else).
    say(server, alex, "this is ridiculous, my video keeps buffering")
    ticket = ticket_for(server, alex)
    payload = agent(server, "GET", f"/tickets/{ticket['id']}")["payload"]
    assert payload["trigger"]["reason"] == "frustration"
    assert payload["account"]["tier"] == "vip"
    assert payload["customer"]["name"] == "Alex"

"""The HTTP API through sanic_testing's ASGI client (and a real socket for SSE)."""

import asyncio
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import aiohttp
import pytest
from sanic import Blueprint, Sanic

from rasa_handover.inbox.api import add_inbox_routes, create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.openapi import OPENAPI
from rasa_handover.inbox.service import InboxService
from rasa_handover.inbox.signing import SIGNATURE_HEADER, SigningKeys, sign
from rasa_handover.inbox.store import InboxStore
from tests.inbox.conftest import (
    POSTGRES_SKIP_REASON,
    PostgresSchemas,
    postgres_url,
    running,
)
from tests.signed import channel_headers

SECRET = "channel-secret"
PREFIX = "/webhooks/handover/inbox"
MAYA = {"Authorization": "Bearer token-maya"}
TOM = {"Authorization": "Bearer token-tom"}
PAYLOAD = {
    "trigger": {"reason": "explicit_request", "team": "billing"},
    "customer_name": "Dana",
    "summary": "Wants a refund for order 1182.",
}
SSE_READ_TIMEOUT_SECONDS = 10.0

CONFIG = InboxConfig(
    agents=(
        AgentConfig("Maya", "token-maya", teams=("billing",), capacity=2),
        AgentConfig("Tom", "token-tom", teams=("billing", "tech"), capacity=2),
    ),
    shared_secret=SECRET,
    housekeeping_seconds=0,
)


def unique_name() -> str:
    return f"inbox_test_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def app(tmp_path: Path) -> Sanic:
    return create_app(
        f"sqlite:///{tmp_path / 'handover.db'}", CONFIG, name=unique_name()
    )


def signed(
    data: Any, secret: str = SECRET, path: str = f"{PREFIX}/api/channel/tickets"
) -> Tuple[bytes, Dict[str, str]]:
    body = json.dumps(data).encode()
    return body, channel_headers("POST", path, body, secret)


async def request_ticket(
    app: Sanic, conversation_id: str = "conv-1", attempt: int = 1
) -> Any:
    body, headers = signed(
        {"conversation_id": conversation_id, "attempt": attempt, "payload": PAYLOAD}
    )
    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/channel/tickets", content=body, headers=headers
    )
    return response


async def go_online(app: Sanic, headers: Dict[str, str]) -> None:
    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/agents/me/availability", json={"online": True}, headers=headers
    )
    assert response.status == 200 and response.json["agent"]["online"] is True


async def test_full_agent_flow(app: Sanic) -> None:
    client = app.asgi_client
    created = await request_ticket(app)
    assert created.status == 201
    view = created.json
    assert (view["status"], view["no_agent_reason"]) == ("waiting", "nobody_online")
    ticket_id = view["ticket_id"]

    _, queue = await client.get(f"{PREFIX}/api/queue", headers=MAYA)
    assert [t["id"] for t in queue.json["tickets"]] == [ticket_id]
    assert queue.json["tickets"][0]["queue_position"] == 1

    _, claimed = await client.post(
        f"{PREFIX}/api/tickets/{ticket_id}/claim", headers=MAYA
    )
    assert claimed.status == 200
    assert (claimed.json["ticket"]["status"], claimed.json["ticket"]["agent_name"]) == (
        "active",
        "Maya",
    )

    reply_text = "Hi Dana, I'm Maya, picking up from our assistant."
    _, replied = await client.post(
        f"{PREFIX}/api/tickets/{ticket_id}/reply",
        json={"text": reply_text},
        headers=MAYA,
    )
    assert replied.status == 201 and replied.json["message"]["agent_name"] == "Maya"

    body, headers = signed(
        {"conversation_id": "conv-1", "text": "Thanks!"},
        path=f"{PREFIX}/api/channel/messages",
    )
    _, relayed = await client.post(
        f"{PREFIX}/api/channel/messages", content=body, headers=headers
    )
    assert relayed.status == 201

    _, details = await client.get(f"{PREFIX}/api/tickets/{ticket_id}", headers=MAYA)
    assert details.json["payload"]["summary"] == "Wants a refund for order 1182."
    assert [(m["sender"], m["text"]) for m in details.json["messages"]] == [
        ("agent", reply_text),
        ("customer", "Thanks!"),
    ]

    query = "conversation_id=conv-1&after_id=0"
    url = f"{PREFIX}/api/channel/messages?{query}"
    headers = channel_headers("GET", url, b"", SECRET)  # GET: method, path, query.
    _, pending = await client.get(url, headers=headers)
    assert [m["text"] for m in pending.json["messages"]] == [reply_text]
    assert pending.json["handover_active"] is True

    _, resolved = await client.post(
        f"{PREFIX}/api/tickets/{ticket_id}/resolve",
        json={"outcome": "escalation_needed", "note": "refund approved"},
        headers=MAYA,
    )
    assert resolved.status == 200
    assert resolved.json["ticket"]["status"] == "resolved"
    assert resolved.json["ticket"]["outcome"] == "escalation_needed"

    _, queue = await client.get(f"{PREFIX}/api/queue", headers=MAYA)
    assert queue.json["tickets"] == []


async def test_online_agent_is_assigned_at_once(app: Sanic) -> None:
    await go_online(app, MAYA)

    response = await request_ticket(app)

    assert response.status == 201
    assert (response.json["status"], response.json["agent_name"]) == (
        "assigned",
        "Maya",
    )
    assert response.json["alternatives"] == []


async def test_retry_returns_200_and_the_same_ticket(app: Sanic) -> None:
    first = await request_ticket(app)
    retry = await request_ticket(app)

    assert (first.status, retry.status) == (201, 200)
    assert retry.json["ticket_id"] == first.json["ticket_id"]
    assert retry.json["created"] is False


async def test_me_and_availability(app: Sanic) -> None:
    _, me = await app.asgi_client.get(f"{PREFIX}/api/me", headers=TOM)

    assert me.status == 200
    assert me.json["agent"]["name"] == "Tom"
    assert me.json["agent"]["teams"] == ["billing", "tech"]
    assert "token" not in json.dumps(me.json)


async def test_transfer_moves_the_ticket(app: Sanic) -> None:
    ticket_id = (await request_ticket(app)).json["ticket_id"]
    await go_online(app, TOM)  # Tom takes the waiting billing ticket.

    _, transferred = await app.asgi_client.post(
        f"{PREFIX}/api/tickets/{ticket_id}/transfer", json={"team": "tech"}, headers=TOM
    )

    assert transferred.status == 200
    assert transferred.json["ticket"]["team"] == "tech"
    # Tom is the only tech agent but handed it on: it waits for someone else.
    assert transferred.json["ticket"]["status"] == "waiting"
    assert transferred.json["routing"]["no_agent_reason"] == "nobody_online"


@pytest.mark.parametrize(
    "headers, message",
    [
        pytest.param({}, "Bearer", id="no-token"),
        pytest.param(
            {"Authorization": "Bearer nope"}, "unknown agent token", id="wrong"
        ),
        pytest.param({"Authorization": "Basic dG9t"}, "Bearer", id="wrong-scheme"),
    ],
)
async def test_agent_endpoints_need_a_valid_token(
    app: Sanic, headers: Dict[str, str], message: str
) -> None:
    _, response = await app.asgi_client.get(f"{PREFIX}/api/queue", headers=headers)

    assert response.status == 401
    assert response.json["field"] == "Authorization"
    assert message in response.json["error"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "path, body, status, field",
    [
        pytest.param("/reply", b"{not json", 400, "body", id="malformed-json"),
        pytest.param("/reply", b"", 400, "body", id="empty-body"),
        pytest.param("/reply", b"[1, 2]", 400, "body", id="not-an-object"),
        pytest.param("/reply", b"{}", 400, "text", id="missing-field"),
        pytest.param("/reply", b'{"text": 42}', 400, "text", id="wrong-type"),
        pytest.param("/reply", b'{"text": "   "}', 400, "text", id="blank-text"),
        pytest.param(
            "/resolve", b'{"outcome": "great"}', 400, "outcome", id="unknown-outcome"
        ),
        pytest.param(
            "/resolve",
            b'{"outcome": "escalation_needed", "note": 5}',
            400,
            "note",
            id="wrong-note-type",
        ),
        pytest.param("/transfer", b'{"team": ""}', 400, "team", id="empty-team"),
        pytest.param(
            "/transfer", b'{"team": "astrology"}', 400, "team", id="unstaffed-team"
        ),
    ],
)
async def test_bad_agent_requests_get_a_json_400(
    app: Sanic, path: str, body: bytes, status: int, field: str
) -> None:
    ticket_id = (await request_ticket(app)).json["ticket_id"]

    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/tickets/{ticket_id}{path}", content=body, headers=MAYA
    )

    assert response.status == status
    assert response.json["field"] == field
    assert response.json["error"]


async def test_wrong_type_for_availability_names_the_field(app: Sanic) -> None:
    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/agents/me/availability", json={"online": "yes"}, headers=MAYA
    )

    assert response.status == 400
    assert response.json == {
        "error": "field 'online' must be a boolean",
        "field": "online",
    }


@pytest.mark.parametrize("ticket_id", ["999999", "abc"])
async def test_unknown_ticket_is_404(app: Sanic, ticket_id: str) -> None:
    _, details = await app.asgi_client.get(
        f"{PREFIX}/api/tickets/{ticket_id}", headers=MAYA
    )
    _, claim = await app.asgi_client.post(
        f"{PREFIX}/api/tickets/{ticket_id}/claim", headers=MAYA
    )

    assert (details.status, claim.status) == (404, 404)
    assert details.json["field"] == "ticket_id"


async def test_claiming_a_taken_ticket_is_409(app: Sanic) -> None:
    ticket_id = (await request_ticket(app)).json["ticket_id"]
    await app.asgi_client.post(f"{PREFIX}/api/tickets/{ticket_id}/claim", headers=MAYA)

    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/tickets/{ticket_id}/claim", headers=TOM
    )
    _, reply = await app.asgi_client.post(
        f"{PREFIX}/api/tickets/{ticket_id}/reply", json={"text": "mine!"}, headers=TOM
    )

    assert (response.status, reply.status) == (409, 409)
    assert "active by agent 'maya'" in response.json["error"]


async def test_signed_channel_call_accepted_and_tampered_body_rejected(
    app: Sanic,
) -> None:
    body, headers = signed({"conversation_id": "conv-1", "attempt": 1, "payload": {}})
    tampered = body.replace(b"conv-1", b"conv-2")

    _, rejected = await app.asgi_client.post(
        f"{PREFIX}/api/channel/tickets", content=tampered, headers=headers
    )
    _, accepted = await app.asgi_client.post(
        f"{PREFIX}/api/channel/tickets", content=body, headers=headers
    )

    assert rejected.status == 401
    assert rejected.json["field"] == SIGNATURE_HEADER
    assert "does not match" in rejected.json["error"]
    assert accepted.status == 201 and accepted.json["conversation_id"] == "conv-1"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="unsigned"),
        pytest.param(signed({"x": 1}, secret="not-the-secret")[1], id="wrong-secret"),
        pytest.param(
            {**signed({})[1], "X-Handover-Timestamp": str(int(time.time()) - 3600)},
            id="replayed-an-hour-later",
        ),
    ],
)
async def test_channel_calls_without_a_valid_signature_are_401(
    app: Sanic, headers: Dict[str, str]
) -> None:
    body = json.dumps({"conversation_id": "c", "attempt": 1, "payload": {}}).encode()

    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/channel/tickets", content=body, headers=headers
    )

    assert response.status == 401


@pytest.mark.parametrize(
    "data, field",
    [
        pytest.param({"attempt": 1, "payload": {}}, "conversation_id", id="missing-id"),
        pytest.param(
            {"conversation_id": "c", "attempt": "1", "payload": {}},
            "attempt",
            id="attempt-as-string",
        ),
        pytest.param(
            {"conversation_id": "c", "attempt": True, "payload": {}},
            "attempt",
            id="attempt-as-bool",
        ),
        pytest.param(
            {"conversation_id": "c", "attempt": 0, "payload": {}},
            "attempt",
            id="attempt-zero",
        ),
        pytest.param(
            {"conversation_id": "c", "attempt": 1, "payload": []},
            "payload",
            id="payload-not-object",
        ),
    ],
)
async def test_bad_channel_requests_name_the_field(
    app: Sanic, data: Dict[str, Any], field: str
) -> None:
    body, headers = signed(data)

    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/channel/tickets", content=body, headers=headers
    )

    assert response.status == 400
    assert response.json["field"] == field


async def test_malformed_signed_json_is_400_not_a_crash(app: Sanic) -> None:
    body = b'{"conversation_id": '
    headers = channel_headers("POST", f"{PREFIX}/api/channel/tickets", body, SECRET)

    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/channel/tickets", content=body, headers=headers
    )
    _, health = await app.asgi_client.get(f"{PREFIX}/api/health")

    assert response.status == 400 and response.json["field"] == "body"
    assert health.status == 200 and health.json["status"] == "ok"


async def test_message_without_open_handover_is_404(app: Sanic) -> None:
    body, headers = signed(
        {"conversation_id": "nobody", "text": "hello"},
        path=f"{PREFIX}/api/channel/messages",
    )

    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/channel/messages", content=body, headers=headers
    )

    assert response.status == 404 and response.json["field"] == "conversation_id"


async def test_callback_endpoint(app: Sanic) -> None:
    await request_ticket(app)
    body, headers = signed(
        {"conversation_id": "conv-1", "when": "tomorrow 9am", "contact": "+4930123"},
        path=f"{PREFIX}/api/channel/callbacks",
    )

    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/channel/callbacks", content=body, headers=headers
    )
    _, queue = await app.asgi_client.get(f"{PREFIX}/api/queue", headers=MAYA)

    assert response.status == 201 and response.json["status"] == "callback"
    assert queue.json["tickets"] == []
    assert queue.json["callbacks"][0]["callback"]["contact"] == "+4930123"


async def test_channel_endpoints_are_off_without_a_secret(tmp_path: Path) -> None:
    config = InboxConfig(agents=CONFIG.agents, housekeeping_seconds=0)
    app = create_app(f"sqlite:///{tmp_path / 'h.db'}", config, name=unique_name())
    body, headers = signed({"conversation_id": "c", "attempt": 1, "payload": {}})

    _, response = await app.asgi_client.post(
        f"{PREFIX}/api/channel/tickets", content=body, headers=headers
    )

    assert response.status == 403
    assert "shared_secret" in response.json["error"]


async def test_openapi_documents_every_route(app: Sanic) -> None:
    _, response = await app.asgi_client.get(f"{PREFIX}/openapi.json")

    document = response.json
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": PREFIX}]
    documented = {
        (method.upper(), path)
        for path, operations in OPENAPI["paths"].items()
        for method in operations
    }
    registered = set()
    for route in app.router.routes:
        path = "/" + re.sub(r"<(\w+)(:\w+)?>", r"{\1}", route.path)
        for method in route.methods:
            if method in ("HEAD", "OPTIONS"):
                continue
            registered.add((method, path[len(PREFIX) :] or "/"))
    assert registered == documented


async def test_embedded_mount_under_the_channel_blueprint(tmp_path: Path) -> None:
    """The channel adds the routes to its own blueprint at /webhooks/handover."""
    store = InboxStore(f"sqlite:///{tmp_path / 'handover.db'}")
    service = InboxService(store)
    channel = Blueprint(unique_name(), url_prefix="/webhooks/handover")
    add_inbox_routes(channel, service, CONFIG, path="/inbox")
    app = Sanic(unique_name())
    app.blueprint(channel)

    _, health = await app.asgi_client.get(f"{PREFIX}/api/health")
    _, me = await app.asgi_client.get(f"{PREFIX}/api/me", headers=MAYA)

    assert health.status == 200
    assert me.status == 200 and me.json["agent"]["name"] == "Maya"


# --- A real server: the event stream must arrive while the connection is open. --


async def read_event(stream: aiohttp.StreamReader, wanted: str) -> Dict[str, Any]:
    """Reads SSE lines until an event of type `wanted`; returns its data."""
    event_type: Optional[str] = None
    while True:
        line = (await stream.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            event_type = line[len("event: ") :]
        elif line.startswith("data: ") and event_type == wanted:
            return json.loads(line[len("data: ") :])


async def test_event_stream_delivers_a_requested_event(app: Sanic) -> None:
    async with running(app) as base, aiohttp.ClientSession() as session:
        async with session.get(f"{base}/api/events", headers=MAYA) as stream:
            assert stream.status == 200
            body, headers = signed(
                {"conversation_id": "conv-sse", "attempt": 1, "payload": PAYLOAD}
            )
            async with session.post(
                f"{base}/api/channel/tickets", data=body, headers=headers
            ) as created:
                assert created.status == 201

            event = await asyncio.wait_for(
                read_event(stream.content, "requested"), SSE_READ_TIMEOUT_SECONDS
            )

        assert event["type"] == "requested"
        assert event["data"]["conversation_id"] == "conv-sse"
        # Let the server notice the closed stream before it shuts down.
        await asyncio.sleep(0.2)


async def test_event_stream_replays_after_last_event_id(app: Sanic) -> None:
    await request_ticket(app)

    async with running(app) as base, aiohttp.ClientSession() as session:
        replay = {**MAYA, "Last-Event-ID": "0"}
        async with session.get(
            f"{base}/api/events?max_seconds=0", headers=replay
        ) as stream:
            text = await asyncio.wait_for(stream.text(), SSE_READ_TIMEOUT_SECONDS)
            content_type = stream.headers["Content-Type"]
        async with session.get(
            f"{base}/api/events", headers={**MAYA, "Last-Event-ID": "x"}
        ) as bad:
            bad_status, bad_body = bad.status, await bad.json()

    assert content_type.startswith("text/event-stream")
    assert text.index("event: requested") < text.index("event: queued")
    assert "id: 1\n" in text
    assert (bad_status, bad_body["field"]) == (400, "Last-Event-ID")


async def test_postgres_backed_app_serves_the_flow(
    pg_schemas: PostgresSchemas,
) -> None:
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    app = create_app(url, CONFIG, name=unique_name(), schema=await pg_schemas.new())

    first = await request_ticket(app)
    retry = await request_ticket(app)
    _, claimed = await app.asgi_client.post(
        f"{PREFIX}/api/tickets/{first.json['ticket_id']}/claim", headers=MAYA
    )

    assert (first.status, retry.status, claimed.status) == (201, 200, 200)
    assert retry.json["ticket_id"] == first.json["ticket_id"]


# --- Signatures: one request, one use (issue 11, item 9). ----------------------------


def messages_url(conversation_id: str) -> str:
    return f"{PREFIX}/api/channel/messages?conversation_id={conversation_id}&after_id=0"


CALLBACK_BODY = json.dumps(
    {"conversation_id": "conv-2", "when": "tomorrow", "contact": "+4930123"}
).encode()


@pytest.mark.parametrize(
    "method, signed_url, sent_url, body",
    [
        pytest.param(
            "GET",
            messages_url("conv-1"),
            messages_url("conv-2"),
            b"",
            id="get-on-another-query",
        ),
        pytest.param(
            "POST",
            f"{PREFIX}/api/channel/callbacks",
            f"{PREFIX}/api/channel/left-messages",
            CALLBACK_BODY,
            id="post-on-another-path",
        ),
    ],
)
async def test_a_captured_signature_is_refused_on_another_path_or_query(
    app: Sanic, method: str, signed_url: str, sent_url: str, body: bytes
) -> None:
    await request_ticket(app, "conv-2")
    headers = channel_headers(method, signed_url, body, SECRET)

    _, refused = await app.asgi_client.request(
        method, sent_url, content=body, headers=headers
    )
    _, accepted = await app.asgi_client.request(
        method, signed_url, content=body, headers=headers
    )

    assert refused.status == 401 and refused.json["field"] == SIGNATURE_HEADER
    assert "does not match" in refused.json["error"]
    assert accepted.status in (200, 201)


async def test_a_captured_post_signature_is_refused_as_a_get(app: Sanic) -> None:
    url = messages_url("conv-1")
    headers = channel_headers("POST", url, b"", SECRET)

    _, refused = await app.asgi_client.get(url, headers=headers)

    assert refused.status == 401 and "does not match" in refused.json["error"]


async def test_a_replayed_customer_message_is_refused_and_stored_once(
    app: Sanic,
) -> None:
    created = await request_ticket(app)
    body, headers = signed(
        {"conversation_id": "conv-1", "text": "my order is 1182"},
        path=f"{PREFIX}/api/channel/messages",
    )
    url = f"{PREFIX}/api/channel/messages"

    _, first = await app.asgi_client.post(url, content=body, headers=headers)
    _, replay = await app.asgi_client.post(url, content=body, headers=headers)
    _, details = await app.asgi_client.get(
        f"{PREFIX}/api/tickets/{created.json['ticket_id']}", headers=MAYA
    )

    assert first.status == 201
    assert replay.status == 401 and "already used" in replay.json["error"]
    customer = [m for m in details.json["messages"] if m["sender"] == "customer"]
    assert [m["text"] for m in customer] == ["my order is 1182"]


async def test_a_request_signed_with_the_inbox_to_channel_key_is_refused(
    app: Sanic,
) -> None:
    keys = SigningKeys.from_settings(SECRET)
    assert keys is not None
    url = f"{PREFIX}/api/channel/tickets"
    body = json.dumps({"conversation_id": "c", "attempt": 1, "payload": {}}).encode()
    headers = {
        "Content-Type": "application/json",
        **sign("POST", url, body, keys.inbox_to_channel),
    }

    _, response = await app.asgi_client.post(url, content=body, headers=headers)

    assert response.status == 401 and response.json["field"] == SIGNATURE_HEADER

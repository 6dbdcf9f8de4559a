"""Input edges get a clear 4xx, never a 500 (real HTTP, SQLite and PostgreSQL).

Each case gave a 500 before the limits in `inbox/limits.py`: a `nan` or `inf`
number, an id beyond the database's integer, a body nested deeper than the
parser goes, an unbounded note, a conversation id longer than its column.
"""

import json
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Optional, Tuple

import aiohttp
import pytest
import yarl

from rasa_handover.inbox.api import create_app
from rasa_handover.inbox.config import AgentConfig, InboxConfig
from rasa_handover.inbox.limits import MAX_ID, MAX_JSON_DEPTH, MAX_NOTE_CHARS
from tests.inbox.conftest import (
    POSTGRES_SKIP_REASON,
    PostgresSchemas,
    postgres_url,
    running,
)
from tests.signed import channel_headers

SECRET = "channel-secret-for-edge-tests"
MAYA = {"Authorization": "Bearer token-maya"}
CONFIG = InboxConfig(
    agents=(AgentConfig("Maya", "token-maya", teams=("billing",), capacity=2),),
    shared_secret=SECRET,
    housekeeping_seconds=0,
    presence_grace_seconds=0,
)
BEYOND_INT64 = str(2**63)
# Past 32-bit columns (ids on PostgreSQL before schema version 2): a 500 there
# once (found by tests/inbox/test_fuzz_api.py); now an id like any other.
BEYOND_INT32 = str(2**31)
# Past the largest id and attempt (`MAX_ID`, what JSON holds exactly).
BEYOND_MAX_ID = MAX_ID + 1
DEEP = 100_000


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def signed_headers(method: str, url: str, body: bytes) -> Dict[str, str]:
    return channel_headers(method, url, body, SECRET)


@pytest.fixture(params=["sqlite", "postgresql"])
async def base(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Tuple[str, aiohttp.ClientSession]]:
    name = f"inbox_edges_{uuid.uuid4().hex[:10]}"
    schemas: Optional[PostgresSchemas] = None
    if request.param == "sqlite":
        app = create_app(f"sqlite:///{tmp_path / 'handover.db'}", CONFIG, name=name)
    else:
        url = postgres_url()
        if url is None:
            pytest.skip(POSTGRES_SKIP_REASON)
        schemas = PostgresSchemas(url)
        app = create_app(url, CONFIG, name=name, schema=await schemas.new())
    async with running(app) as root, aiohttp.ClientSession() as session:
        body = json.dumps(
            {"conversation_id": "c1", "attempt": 1, "payload": {"team": "billing"}}
        ).encode()
        async with session.post(
            f"{root}/api/channel/tickets",
            data=body,
            headers=signed_headers("POST", f"{root}/api/channel/tickets", body),
        ) as created:
            assert created.status == 201
        yield root, session
    if schemas is not None:
        await schemas.drop_all()


def case(
    method: str,
    path: str,
    status: int,
    field: str,
    body: Any = None,
    headers: Optional[Dict[str, str]] = None,
    signed: bool = False,
    id: str = "",
) -> Any:
    return pytest.param(method, path, status, field, body, headers, signed, id=id)


CASES = [
    case("GET", "/api/events?max_seconds=nan", 400, "max_seconds", id="max-nan"),
    case("GET", "/api/events?max_seconds=inf", 400, "max_seconds", id="max-inf"),
    case(
        "GET",
        "/api/events",
        400,
        "Last-Event-ID",
        headers={"Last-Event-ID": BEYOND_INT64},
        id="last-event-id-beyond-int64",
    ),
    case(
        "GET",
        "/api/channel/messages?conversation_id=c1&after_id=inf",
        400,
        "after_id",
        signed=True,
        id="after-id-inf",
    ),
    case(
        "GET",
        f"/api/channel/messages?conversation_id=c1&after_id={BEYOND_INT64}",
        400,
        "after_id",
        signed=True,
        id="after-id-beyond-int64",
    ),
    case("GET", f"/api/tickets/{BEYOND_INT64}", 404, "ticket_id", id="ticket-2^63"),
    case(
        "POST",
        f"/api/tickets/{BEYOND_INT64}/claim",
        404,
        "ticket_id",
        id="claim-2^63",
    ),
    case("GET", f"/api/tickets/{BEYOND_INT32}", 404, "ticket_id", id="ticket-2^31"),
    *(
        case(
            "POST",
            f"/api/tickets/{BEYOND_INT32}/{action}",
            404,
            "ticket_id",
            json.dumps(body),
            id=f"{action}-2^31",
        )
        for action, body in (
            ("claim", {}),
            ("reply", {"text": "hi"}),
            ("resolve", {"outcome": "escalation_needed"}),
            ("transfer", {"team": "billing"}),
        )
    ),
    case(
        "GET",
        "/api/events",
        400,
        "Last-Event-ID",
        headers={"Last-Event-ID": str(BEYOND_MAX_ID)},
        id="last-event-id-beyond-max-id",
    ),
    case(
        "GET",
        f"/api/channel/messages?conversation_id=c1&after_id={BEYOND_MAX_ID}",
        400,
        "after_id",
        signed=True,
        id="after-id-beyond-max-id",
    ),
    case(
        "POST",
        "/api/channel/tickets",
        400,
        "attempt",
        json.dumps({"conversation_id": "c9", "attempt": BEYOND_MAX_ID, "payload": {}}),
        signed=True,
        id="attempt-beyond-max-id",
    ),
    case("POST", "/api/tickets/1/reply", 400, "body", nested(DEEP), id="deep-json"),
    case(
        "POST",
        "/api/channel/tickets",
        400,
        "body",
        '{"conversation_id": "c2", "attempt": 1, "payload": {"x": '
        + nested(MAX_JSON_DEPTH + 1)
        + "}}",
        signed=True,
        id="payload-too-deep",
    ),
    case(
        "POST",
        "/api/tickets/1/resolve",
        400,
        "note",
        json.dumps({"outcome": "escalation_needed", "note": "n" * 100_000}),
        id="unbounded-note",
    ),
    case(
        "POST",
        "/api/channel/tickets",
        400,
        "conversation_id",
        json.dumps({"conversation_id": "c" * 300, "attempt": 1, "payload": {}}),
        signed=True,
        id="conversation-id-over-its-column",
    ),
]


@pytest.mark.parametrize("method, path, status, field, body, headers, signed", CASES)
async def test_edges_get_a_clear_4xx(
    base: Tuple[str, aiohttp.ClientSession],
    method: str,
    path: str,
    status: int,
    field: str,
    body: Optional[str],
    headers: Optional[Dict[str, str]],
    signed: bool,
) -> None:
    root, session = base
    data = (body or "").encode()
    sent = {**MAYA, **(headers or {})}
    if signed:
        sent = {**sent, **signed_headers(method, f"{root}{path}", data)}
    async with session.request(
        method, f"{root}{path}", data=data or None, headers=sent
    ) as response:
        answer = await response.json()

    assert (response.status, answer["field"]) == (status, field), answer
    assert answer["error"]


async def test_a_note_within_the_limit_is_kept(
    base: Tuple[str, aiohttp.ClientSession],
) -> None:
    root, session = base
    note = "n" * MAX_NOTE_CHARS
    async with session.post(
        f"{root}/api/tickets/1/resolve",
        json={"outcome": "escalation_needed", "note": note},
        headers=MAYA,
    ) as response:
        answer = await response.json()
    assert response.status == 200, answer


@pytest.mark.parametrize(
    "agent_id",
    [
        pytest.param("a%00b", id="nul"),
        pytest.param("%ED%A0%80", id="lone-surrogate"),
        pytest.param("x" * 300, id="longer-than-the-column"),
    ],
)
async def test_a_stream_ticket_naming_an_impossible_agent_is_a_401(
    base: Tuple[str, aiohttp.ClientSession], agent_id: str
) -> None:
    root, session = base
    ticket = f"{int(time.time()) + 30}.nonce.signature.{agent_id}"
    async with session.get(
        f"{root}/api/events?max_seconds=0&ticket={ticket}"
    ) as response:
        answer = await response.json()

    assert (response.status, answer["field"]) == (401, "ticket"), answer


# Text PostgreSQL cannot store (NUL) or no database can (a lone surrogate) is
# cleaned at the edge (U+FFFD), not a 500 (found by tests/inbox/test_fuzz_api.py).
UNSTORABLE = [
    pytest.param("a\x00b", id="nul"),
    pytest.param("a\ud800b", id="lone-surrogate"),
]


@pytest.mark.parametrize("text", UNSTORABLE)
async def test_an_agent_reply_that_cannot_be_stored_is_cleaned(
    base: Tuple[str, aiohttp.ClientSession], text: str
) -> None:
    root, session = base
    body = json.dumps({"text": text}).encode()
    async with session.post(
        f"{root}/api/tickets/1/reply",
        data=body,
        headers={**MAYA, "Content-Type": "application/json"},
    ) as response:
        answer = await response.json()

    assert response.status == 201, answer
    assert answer["message"]["text"] == "a\ufffdb"


@pytest.mark.parametrize("text", UNSTORABLE)
async def test_a_payload_customer_name_that_cannot_be_stored_is_cleaned(
    base: Tuple[str, aiohttp.ClientSession], text: str
) -> None:
    root, session = base
    payload = {"team": "billing", "customer_name": text}
    body = json.dumps({"conversation_id": "c7", "attempt": 1, "payload": payload})
    data = body.encode()
    url = f"{root}/api/channel/tickets"
    async with session.post(
        url, data=data, headers=signed_headers("POST", url, data)
    ) as response:
        answer = await response.json()

    assert response.status == 201, answer


@pytest.mark.parametrize("conversation_id", ["a%00b", "a%ED%A0%80b"])
async def test_polling_a_conversation_id_that_cannot_be_stored_is_no_500(
    base: Tuple[str, aiohttp.ClientSession], conversation_id: str
) -> None:
    root, session = base
    url = f"{root}/api/channel/messages?conversation_id={conversation_id}"
    async with session.get(
        # Sent as written (the signature covers the query exactly as sent).
        yarl.URL(url, encoded=True),
        headers=signed_headers("GET", url, b""),
    ) as response:
        answer = await response.json()

    assert response.status == 200, answer
    assert answer == {"messages": [], "handover_active": False}

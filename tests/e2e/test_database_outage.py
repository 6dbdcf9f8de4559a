"""The standalone inbox while its PostgreSQL connection is dropped and restored.

Real processes and a real database: `rasa-handover inbox` on the test
PostgreSQL server, reached through a TCP proxy the test cuts (every connection
closed, new ones refused) and restores. While cut, every request is a 503 with
Retry-After and a JSON error saying the database is unreachable, never a 500;
once restored the inbox answers again by itself, and the channel's retries
create each ticket exactly once, with nothing half-written.
"""

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from rasa_handover.channels.inbox_client import HttpInboxClient, InboxUnavailableError
from rasa_handover.inbox.contract import EVENT_REQUESTED, PATH_CHANNEL_TICKETS
from rasa_handover.inbox.signing import SigningKeys
from tests.e2e.servers import free_port, standalone_inbox
from tests.e2e.tcp_proxy import TcpProxy, tcp_proxy
from tests.inbox.conftest import POSTGRES_SKIP_REASON, PostgresSchemas, postgres_url
from tests.signed import channel_headers

pytestmark = pytest.mark.e2e

SECRET = "e2e-database-outage-secret"
TOKEN = "maya-outage-token-0123456789abcdef0123456"
INBOX_YML = f"""
shared_secret: {SECRET}
housekeeping_seconds: 1
agents:
  - name: Maya
    token: {TOKEN}
    teams: [general, billing, technical]
"""
PAYLOAD = {"summary": {"text": "Customer wants a refund."}, "team": "billing"}
# Handovers sent at once while the connection is cut (some land before it).
BURST = 12
RECOVERY_SECONDS = 60


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Tuple[str, str]]:
    """(URL of the test PostgreSQL server, a throw-away schema)."""
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    schemas = PostgresSchemas(url)
    schema = asyncio.run(schemas.new())
    yield url, schema
    asyncio.run(schemas.drop_all())


@pytest.fixture
def proxy(database: Tuple[str, str]) -> Iterator[TcpProxy]:
    address = urlsplit(database[0])
    target = (address.hostname or "127.0.0.1", address.port or 5432)
    with tcp_proxy(*target, free_port()) as running:
        yield running


def proxied(url: str, port: int) -> str:
    address = urlsplit(url)
    return address._replace(netloc=f"{address.username}@127.0.0.1:{port}").geturl()


def hand_over(api: str, conversation_id: str) -> requests.Response:
    """The channel's signed request for a ticket (a retry sends it again)."""
    body = json.dumps(
        {"conversation_id": conversation_id, "attempt": 1, "payload": PAYLOAD}
    ).encode()
    url = f"{api}{PATH_CHANNEL_TICKETS}"
    return requests.post(
        url, data=body, headers=channel_headers("POST", url, body, SECRET), timeout=30
    )


def channel_hands_over(api: str, conversation_id: str) -> Dict[str, Any]:
    """The channel's own client (its outbox retries on InboxUnavailableError)."""
    keys = SigningKeys.from_settings(SECRET)
    assert keys is not None
    client = HttpInboxClient(api, keys)
    return asyncio.run(client.request_handover(conversation_id, 1, PAYLOAD))


def agent_get(api: str, path: str) -> requests.Response:
    return requests.get(
        f"{api}/api{path}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )


def until_ok(request: Any) -> requests.Response:
    """`request()` again until it is no 503 (a channel's retries)."""
    deadline = time.time() + RECOVERY_SECONDS
    while True:
        answer = request()
        if answer.status_code != 503 or time.time() > deadline:
            return answer
        time.sleep(0.5)


def stored(url: str, schema: str) -> Dict[str, List[Any]]:
    """What the database holds: tickets per conversation, `requested` events."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tickets = conn.execute(
                sa.text(f'SELECT id, conversation_id FROM "{schema}".handover_tickets')
            ).all()
            requested = conn.execute(
                sa.text(
                    f'SELECT ticket_id FROM "{schema}".handover_events '
                    "WHERE type = :type"
                ),
                {"type": EVENT_REQUESTED},
            ).all()
    finally:
        engine.dispose()
    return {
        "conversations": sorted(row.conversation_id for row in tickets),
        "ticket_ids": sorted(row.id for row in tickets),
        "requested": sorted(row.ticket_id for row in requested),
    }


def terminate_backends(url: str, client_ports: List[int]) -> int:
    """pg_terminate_backend on the connections that came from these ports."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            return len(
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE client_port = ANY(:ports)"
                    ),
                    {"ports": client_ports},
                ).all()
            )
    finally:
        engine.dispose()


def assert_unavailable(answer: requests.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["Retry-After"]) > 0
    assert "database is unreachable" in answer.json()["error"]


def test_a_dropped_database_connection_is_a_503_and_then_recovers(
    tmp_path: Path, database: Tuple[str, str], proxy: TcpProxy
) -> None:
    url, schema = database
    run = uuid.uuid4().hex[:6]
    first, cut_short, outboxed = f"ana-{run}", f"ben-{run}", f"cy-{run}"
    burst = [f"c{n}-{run}" for n in range(BURST)]

    with standalone_inbox(
        tmp_path, INBOX_YML, free_port(), proxied(url, proxy.port), schema
    ) as api:
        assert hand_over(api, first).status_code == 201

        # The server drops every connection (a restart): the pool reconnects.
        assert terminate_backends(url, proxy.upstream_ports()) > 0
        assert agent_get(api, "/queue").status_code == 200

        # Unreachable: a clear 503 for the channel, the agents and the health check.
        with ThreadPoolExecutor(BURST) as pool:
            in_flight = [pool.submit(hand_over, api, name) for name in burst]
            proxy.cut()
            answers = [future.result() for future in in_flight]
        assert_unavailable(hand_over(api, cut_short))
        assert_unavailable(agent_get(api, "/queue"))
        assert_unavailable(requests.get(f"{api}/api/health", timeout=30))
        # The channel's client: an outage, so its outbox keeps it for a retry.
        with pytest.raises(InboxUnavailableError, match="HTTP 503"):
            channel_hands_over(api, outboxed)
        assert {a.status_code for a in answers} <= {200, 201, 503}

        # Back: the inbox answers again by itself; the channel's retries land.
        proxy.restore()
        assert until_ok(lambda: agent_get(api, "/queue")).status_code == 200
        retried = [until_ok(lambda n=name: hand_over(api, n)) for name in burst]
        assert hand_over(api, cut_short).status_code == 201
        assert channel_hands_over(api, outboxed)["created"] is True
        queue = agent_get(api, "/queue").json()["tickets"]

    assert {a.status_code for a in retried} <= {200, 201}, [a.text for a in retried]
    expected = sorted([first, cut_short, outboxed, *burst])
    held = stored(url, schema)
    # Every handover exactly once, each with the event that announced it.
    assert held["conversations"] == expected
    assert held["requested"] == held["ticket_ids"]
    assert sorted(t["conversation_id"] for t in queue) == expected

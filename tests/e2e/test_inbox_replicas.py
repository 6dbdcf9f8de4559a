"""Two standalone inbox replicas on one PostgreSQL schema behave as one inbox.

Real processes: two `rasa-handover inbox` servers on the real PostgreSQL
(`HANDOVER_TEST_POSTGRES_URL`, a fresh schema per test), called over HTTP the
way a channel (signed requests) and an agent's page (token, event stream) call
them; one replica is SIGKILLed where a test says so. A small real webhook
server stands for the channel and checks every delivery's signature with the
package's `Verifier`.
"""

import asyncio
import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import requests
import sqlalchemy as sa

from rasa_handover.inbox.publisher import customer_facing
from rasa_handover.inbox.signing import SigningKeys, Verifier, request_target
from rasa_handover.inbox.store import InboxStore, events_table
from rasa_handover.inbox.store.schema import channel_cursors_table
from tests.e2e.servers import free_port, inbox_replica, start_together
from tests.inbox.conftest import POSTGRES_SKIP_REASON, PostgresSchemas, postgres_url
from tests.signed import channel_headers

pytestmark = pytest.mark.e2e

SECRET = "e2e-replicas-shared-secret-0123456789"
KEYS = SigningKeys.from_settings(SECRET)
assert KEYS is not None
TOKENS = {
    name: f"{name.lower()}-replica-token-0123456789abcdef0123"
    for name in ("Maya", "Tom", "Lea", "Sam", "Ines")
}
WAIT_SECONDS = 60.0
# Presence: an agent whose page is silent for 6 s is away (the check runs
# every 1.5 s, the stream reports in every 2 s: room for a busy machine).
PRESENCE_YML = f"""
shared_secret: {SECRET}
housekeeping_seconds: 1
presence_grace_seconds: 6
agents:
  - name: Maya
    token: {TOKENS["Maya"]}
    teams: [general]
    capacity: 2
  - name: Ines
    token: {TOKENS["Ines"]}
    role: supervisor
"""
# Four agents, 6 seats between them; presence off (nobody keeps a page open).
CAPACITY_YML = f"""
shared_secret: {SECRET}
housekeeping_seconds: 0
presence_grace_seconds: 0
agents:
  - {{name: Maya, token: {TOKENS["Maya"]}, teams: [general], capacity: 1}}
  - {{name: Tom, token: {TOKENS["Tom"]}, teams: [general], capacity: 2}}
  - {{name: Lea, token: {TOKENS["Lea"]}, teams: [general], capacity: 1}}
  - {{name: Sam, token: {TOKENS["Sam"]}, teams: [general], capacity: 2}}
"""
CAPACITIES = {"maya": 1, "tom": 2, "lea": 1, "sam": 2}


@pytest.fixture
def pg() -> Iterator[Tuple[str, str]]:
    """(PostgreSQL URL, a fresh schema) both replicas of a test share."""
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    schemas = PostgresSchemas(url)
    schema = asyncio.run(schemas.new())
    yield url, schema
    asyncio.run(schemas.drop_all())


class Replica:
    """One running inbox replica: its API URL and its process."""

    def __init__(self, base: str, process: Any) -> None:
        self.base = base
        self.process = process

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs (leases and streams just stop)."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@contextmanager
def two_replicas(
    tmp_path: Path, config: str, pg: Tuple[str, str]
) -> Iterator[Tuple[Replica, Replica]]:
    """Replicas A and B on one schema, started side by side (both create or
    migrate the schema at once: the store serialises that)."""
    url, schema = pg
    servers = []
    for name in ("a", "b"):
        workdir = tmp_path / name
        workdir.mkdir()
        servers.append(
            inbox_replica(
                workdir, config, free_port(), url, schema, f"inbox-replica-{name}"
            )
        )
    with ExitStack() as stack:
        a, b = (Replica(*started) for started in start_together(stack, servers))
        yield a, b


def signed_post(
    base: str, path: str, body: Dict[str, Any]
) -> Tuple[requests.Response, bytes, Dict[str, str]]:
    """A channel's signed call; also returns what was sent (to replay it)."""
    url = f"{base}{path}"
    raw = json.dumps(body).encode()
    headers = channel_headers("POST", url, raw, SECRET)
    return requests.post(url, data=raw, headers=headers, timeout=30), raw, headers


def open_handover(
    base: str, conversation_id: str, callback_url: Optional[str] = None
) -> Dict[str, Any]:
    payload = {"channel_callback_url": callback_url} if callback_url else {}
    answer, _, _ = signed_post(
        base,
        "/api/channel/tickets",
        {"conversation_id": conversation_id, "attempt": 1, "payload": payload},
    )
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


def as_agent(base: str, name: str, method: str, path: str, body: Any = None) -> Any:
    answer = requests.request(
        method,
        f"{base}/api{path}",
        json=body,
        headers={"Authorization": f"Bearer {TOKENS[name]}"},
        timeout=30,
    )
    return answer


def until(condition: Callable[[], bool], seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


class EventStream:
    """An agent's page's event stream (SSE) on one replica, read in a thread."""

    def __init__(self, base: str, name: str) -> None:
        answer = as_agent(base, name, "POST", "/events/ticket")
        assert answer.status_code == 201, answer.text
        self.response = requests.get(
            f"{base}/api/events",
            params={"ticket": answer.json()["ticket"]},
            stream=True,
            timeout=(10, None),
        )
        assert self.response.status_code == 200, self.response.text
        self.events: List[Dict[str, Any]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    self.events.append(json.loads(line[len("data: ") :]))
        except Exception:  # the replica went away
            return

    def close(self) -> None:
        self.response.close()


# --- Replay protection. -----------------------------------------------------------


def test_a_request_or_stream_ticket_replayed_to_the_other_replica_is_refused(
    tmp_path: Path, pg: Tuple[str, str]
) -> None:
    with two_replicas(tmp_path, PRESENCE_YML, pg) as (a, b):
        body = {"conversation_id": "conv-replayed", "attempt": 1, "payload": {}}
        first, raw, headers = signed_post(a.base, "/api/channel/tickets", body)
        assert first.status_code == 201, first.text
        # The same bytes and headers (same path on both replicas) to B.
        replay = requests.post(
            f"{b.base}/api/channel/tickets", data=raw, headers=headers, timeout=30
        )
        assert replay.status_code == 401, replay.text
        assert "already used" in replay.json()["error"]

        ticket = as_agent(a.base, "Maya", "POST", "/events/ticket").json()["ticket"]
        opened = requests.get(
            f"{b.base}/api/events",
            params={"ticket": ticket, "max_seconds": 1},
            timeout=30,
        )
        assert opened.status_code == 200, opened.text
        again = requests.get(
            f"{a.base}/api/events",
            params={"ticket": ticket, "max_seconds": 1},
            timeout=30,
        )
        assert again.status_code == 401, again.text
        assert "used already" in again.json()["error"]


# --- Presence and live events. ------------------------------------------------------


def test_an_agent_on_one_replica_is_online_for_the_other_and_sees_its_tickets(
    tmp_path: Path, pg: Tuple[str, str]
) -> None:
    with two_replicas(tmp_path, PRESENCE_YML, pg) as (a, b):
        online = as_agent(
            a.base, "Maya", "POST", "/agents/me/availability", {"online": True}
        )
        assert online.status_code == 200, online.text
        stream = EventStream(a.base, "Maya")
        try:
            # Longer than the grace period: only A's stream keeps her present.
            time.sleep(8)
            started = time.monotonic()
            view = open_handover(b.base, "conv-routed-on-b")
            assert view["agent_name"] == "Maya", view
            until(
                lambda: any(
                    event["ticket_id"] == view["ticket_id"] for event in stream.events
                )
            )
            # For the log only (never asserted): from B's request to A's stream.
            print(f"B's ticket on A's stream {time.monotonic() - started:.3f} s")
        finally:
            stream.close()


def test_a_killed_replicas_agents_go_away_and_their_tickets_back_to_the_queue(
    tmp_path: Path, pg: Tuple[str, str]
) -> None:
    with two_replicas(tmp_path, PRESENCE_YML, pg) as (a, b):
        as_agent(a.base, "Maya", "POST", "/agents/me/availability", {"online": True})
        stream = EventStream(a.base, "Maya")
        try:
            view = open_handover(b.base, "conv-orphaned")
            assert view["agent_name"] == "Maya", view
            a.kill()
        finally:
            stream.close()

        def maya_away_and_ticket_waiting() -> bool:
            me = as_agent(b.base, "Maya", "GET", "/me").json()["agent"]
            ticket = as_agent(
                b.base, "Ines", "GET", f"/tickets/{view['ticket_id']}"
            ).json()["ticket"]
            return not me["online"] and ticket["status"] == "waiting"

        until(maya_away_and_ticket_waiting)
        ticket = as_agent(b.base, "Ines", "GET", f"/tickets/{view['ticket_id']}")
        assert ticket.json()["ticket"]["agent_id"] is None


# --- Capacity and claims under concurrency. ---------------------------------------


def test_concurrent_handovers_and_claims_on_both_replicas_respect_capacity(
    tmp_path: Path, pg: Tuple[str, str]
) -> None:
    handovers = 50
    with two_replicas(tmp_path, CAPACITY_YML, pg) as (a, b):
        replicas = (a, b)
        for index, name in enumerate(CAPACITIES):
            answer = as_agent(
                replicas[index % 2].base,
                name.capitalize(),
                "POST",
                "/agents/me/availability",
                {"online": True},
            )
            assert answer.status_code == 200, answer.text

        # Each handover is sent to one replica and, at the same time, retried
        # on the other (the channel timed out): one ticket per handover.
        def handover(number: int) -> Tuple[int, int]:
            conversation = f"conv-{number:02d}"
            first = replicas[number % 2]
            second = replicas[(number + 1) % 2]
            with ThreadPoolExecutor(2) as both:
                views = list(
                    both.map(
                        lambda replica: open_handover(replica.base, conversation),
                        (first, second),
                    )
                )
            return views[0]["ticket_id"], views[1]["ticket_id"]

        with ThreadPoolExecutor(25) as pool:
            pairs = list(pool.map(handover, range(handovers)))
        assert all(one == other for one, other in pairs)
        ticket_ids = sorted(one for one, _ in pairs)
        assert len(set(ticket_ids)) == handovers

        # Routing filled every seat and none beyond (capacity counts there).
        tickets, _ = asyncio.run(_tickets_and_acceptances(pg))
        assert len(tickets) == handovers
        assigned: Dict[str, int] = {}
        for ticket in tickets:
            if ticket.agent_id is not None:
                assigned[ticket.agent_id] = assigned.get(ticket.agent_id, 0) + 1
        assert assigned == CAPACITIES

        # Every agent claims every ticket, on both replicas, all at once.
        attempts = [
            (replica, name.capitalize(), ticket_id)
            for ticket_id in ticket_ids
            for name in CAPACITIES
            for replica in replicas
        ]

        def claim(attempt: Tuple[Replica, str, int]) -> Tuple[str, int, int]:
            replica, name, ticket_id = attempt
            answer = as_agent(replica.base, name, "POST", f"/tickets/{ticket_id}/claim")
            assert answer.status_code < 500, answer.text
            return name.lower(), ticket_id, answer.status_code

        with ThreadPoolExecutor(32) as pool:
            outcomes = list(pool.map(claim, attempts))

    tickets, accepted = asyncio.run(_tickets_and_acceptances(pg))
    # Each ticket accepted once, by one agent: the one holding it now.
    assert sorted(accepted) == ticket_ids
    winners: Dict[int, set] = {}
    for name, ticket_id, status in outcomes:
        if status == 200:
            winners.setdefault(ticket_id, set()).add(name)
    holders = {ticket.id: {ticket.agent_id} for ticket in tickets}
    assert winners == holders
    # An assigned ticket went to its agent, nobody else.
    assert all(len(names) == 1 for names in winners.values())


async def _tickets_and_acceptances(pg: Tuple[str, str]) -> Tuple[List[Any], List[int]]:
    url, schema = pg
    store = InboxStore(url, schema=schema)
    try:
        tickets = await store.list_queue()
        async with store.engine.connect() as conn:
            accepted = (
                await conn.execute(
                    sa.select(events_table.c.ticket_id).where(
                        events_table.c.type == "accepted"
                    )
                )
            ).scalars()
            return tickets, [int(ticket_id) for ticket_id in accepted]
    finally:
        await store.close()


# --- One deliverer per channel. -------------------------------------------------------


class ChannelWebhook:
    """The channel's webhook: verifies each delivery, records the event ids."""

    def __init__(self) -> None:
        self.verifier = Verifier(KEYS.inbox_to_channel)
        self.received: List[int] = []
        self.refused = 0
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    webhook.verifier.verify(
                        "POST", request_target(self.path), raw, dict(self.headers)
                    )
                except ValueError:
                    webhook.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                webhook.received.append(int(json.loads(raw)["event"]["id"]))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *_args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.url = f"http://127.0.0.1:{self.port}/webhooks/handover/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_one_replica_delivers_a_channels_events_and_the_other_takes_over(
    tmp_path: Path, pg: Tuple[str, str]
) -> None:
    webhook = ChannelWebhook()
    try:
        with two_replicas(tmp_path, PRESENCE_YML, pg) as (a, b):
            view = open_handover(a.base, "conv-delivered", webhook.url)
            ticket = view["ticket_id"]
            as_agent(b.base, "Maya", "POST", f"/tickets/{ticket}/claim")
            for number in range(6):
                replica = (a, b)[number % 2]
                answer = as_agent(
                    replica.base,
                    "Maya",
                    "POST",
                    f"/tickets/{ticket}/reply",
                    {"text": f"reply {number}"},
                )
                assert answer.status_code == 201, answer.text
            before = asyncio.run(_customer_facing_ids(pg, ticket))
            until(lambda: len(webhook.received) >= len(before))
            time.sleep(3)  # time for a (wrong) second delivery
            # Both replicas run, one delivers: each event once, in order.
            assert webhook.received == before

            holder = asyncio.run(_lease_holder(pg))
            leader, survivor = (a, b) if f":{a.process.pid}:" in holder else (b, a)
            assert f":{leader.process.pid}:" in holder, holder
            leader.kill()
            for number in range(6, 9):
                answer = as_agent(
                    survivor.base,
                    "Maya",
                    "POST",
                    f"/tickets/{ticket}/reply",
                    {"text": f"reply {number}"},
                )
                assert answer.status_code == 201, answer.text
            everything = asyncio.run(_customer_facing_ids(pg, ticket))
            until(lambda: set(webhook.received) >= set(everything))
            time.sleep(3)
    finally:
        webhook.close()
    first_arrivals = list(dict.fromkeys(webhook.received))
    assert first_arrivals == everything  # all of them, in order
    # Only events the killed replica delivered in its last moments can come
    # twice (the channel applies each id once); the new ones come once.
    again = [event_id for event_id in webhook.received if event_id not in before]
    assert again == everything[len(before) :]
    assert webhook.refused == 0


async def _customer_facing_ids(pg: Tuple[str, str], ticket_id: int) -> List[int]:
    url, schema = pg
    store = InboxStore(url, schema=schema)
    try:
        events = await store.events(ticket_id=ticket_id)
    finally:
        await store.close()
    return [event.id for event in events if customer_facing(event)]


async def _lease_holder(pg: Tuple[str, str]) -> str:
    url, schema = pg
    store = InboxStore(url, schema=schema)
    try:
        async with store.engine.connect() as conn:
            holder = (
                await conn.execute(sa.select(channel_cursors_table.c.leased_by))
            ).scalar()
    finally:
        await store.close()
    return str(holder)

"""Two Rasa replicas and two inbox replicas: a conversation is served by any of them.

Real processes: two `rasa run` of the example bot sharing Redis (Rasa's own
tracker store and lock store, and the handover channel's `redis_url`), the
action server, two standalone inboxes (`rasa-handover inbox`) on one
PostgreSQL schema, and a round-robin balancer (`balancer.Balancer`) at the
channel's `public_url`, where both inboxes deliver their events. Each Rasa
replica talks to its own inbox replica.

Customers alternate between the Rasa replicas message by message over REST
(with sender tokens) and read agents' replies from either; half of them ask
for a human; two agents work through different inbox replicas. Then: every
handover is one ticket, every customer message reaches the agent once and in
order, every agent reply reaches the customer once and in order, then the
hand-back; no ticket is accepted twice; no agent ever holds more tickets than
their capacity. A socket.io customer connected to one replica gets the reply
that the other applied; a replica killed mid-conversation leaves the
conversation, still handed over, to the other.

`HANDOVER_TEST_REPLICA_CONVERSATIONS` sets how many conversations (default
20; the issue's figure is 200). Needs `HANDOVER_TEST_REDIS_URL` and
`HANDOVER_TEST_POSTGRES_URL`.
"""

import asyncio
import os
import signal
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import urlparse

import psycopg2
import pytest
import requests
import socketio

from rasa_handover.channels import sender_token
from tests.e2e.balancer import Balancer, balancer
from tests.e2e.servers import (
    ensure_example_model,
    free_port,
    rasa_server,
    standalone_inbox,
    start_together,
)
from tests.inbox.conftest import POSTGRES_SKIP_REASON, PostgresSchemas, postgres_url
from tests.redis_server import REDIS_SKIP_REASON, delete_keys, fresh_prefix, redis_url

pytestmark = pytest.mark.e2e

CONVERSATIONS = int(os.environ.get("HANDOVER_TEST_REPLICA_CONVERSATIONS", "20"))
SECRET = "e2e-replicas-shared-secret-0123456789"
CUSTOMER_SECRET = "e2e-replicas-customer-secret-0123456789"
AGENTS = {
    "maya": "maya-replicas-token-0123456789abcdef0123",
    "tom": "tom-replicas-token-0123456789abcdef01234",
}
CAPACITY = 2
INBOX_YML = f"""
shared_secret: {SECRET}
housekeeping_seconds: 1
presence_grace_seconds: 0
agents:
  - name: Maya
    id: maya
    token: {AGENTS["maya"]}
    teams: [general, billing, technical]
    capacity: {CAPACITY}
  - name: Tom
    id: tom
    token: {AGENTS["tom"]}
    teams: [general, billing, technical]
    capacity: {CAPACITY}
"""
HANDOVER = "I want to talk to a human"
HANDBACK = "handed you back"
CONNECTING = "connecting you with"  # utter_handover_connecting
WAIT_SECONDS = 180


@dataclass
class Cluster:
    rasa: List[str]  # the Rasa replicas' base URLs
    inboxes: List[str]  # the inbox replicas' base URLs (one per Rasa replica)
    balancer: Balancer
    processes: List[subprocess.Popen]  # the Rasa replicas
    database: str
    schema: str


def _redis_endpoints(url: str, key_prefix: str) -> str:
    """Rasa's tracker store and lock store on the test's Redis (as Rasa documents)."""
    parsed = urlparse(url)
    database = (parsed.path or "/0").strip("/") or "0"
    store = (
        f"  url: {parsed.hostname}\n  port: {parsed.port or 6379}\n"
        f"  db: {database}\n  key_prefix: {key_prefix}\n"
    )
    return f"tracker_store:\n  type: redis\n{store}lock_store:\n  type: redis\n{store}"


def _credentials(inbox_port: int, public_url: str, workdir: Path, redis: str) -> str:
    return f"""
rasa_handover.channels.HandoverInput:
  inbox_url: http://127.0.0.1:{inbox_port}/webhooks/handover/inbox
  shared_secret: {SECRET}
  customer_secret: {CUSTOMER_SECRET}
  public_url: {public_url}
  outbox: {workdir}/outbox.db
  retry_interval: 0.5
  redis_url: {redis}
"""


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, example_action_server: str
) -> Iterator[Cluster]:
    redis, database = redis_url(), postgres_url()
    if redis is None:
        pytest.skip(REDIS_SKIP_REASON)
    if database is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    model = ensure_example_model()
    schemas = PostgresSchemas(database)
    schema = asyncio.run(schemas.new())
    prefix = fresh_prefix()
    rasa_prefix = f"t{uuid.uuid4().hex[:12]}"  # Rasa wants it alphanumeric
    root = tmp_path_factory.mktemp("replicas")
    # Each replica's process, in the replicas' order (they start side by side).
    processes: List[List[subprocess.Popen]] = [[], []]
    try:
        with ExitStack() as stack:
            proxy = stack.enter_context(balancer())
            inbox_ports = [free_port(), free_port()]
            servers: List[Any] = []
            for i, port in enumerate(inbox_ports):
                workdir = root / f"inbox-{i}"
                workdir.mkdir()
                servers.append(
                    standalone_inbox(
                        workdir, INBOX_YML, port, database, schema, f"inbox-{i}"
                    )
                )
            for i, port in enumerate(inbox_ports):
                workdir = root / f"rasa-{i}"
                workdir.mkdir()
                credentials = _credentials(port, proxy.url, workdir, redis)
                credentials += f'  redis_prefix: "{prefix}"\n'
                servers.append(
                    rasa_server(
                        workdir,
                        model,
                        credentials,
                        example_action_server,
                        name=f"rasa-replica-{i}",
                        endpoints=_redis_endpoints(redis, rasa_prefix),
                        processes=processes[i],
                    )
                )
            started = start_together(stack, servers)
            inboxes, rasa = started[:2], started[2:]
            proxy.backends = rasa
            replicas = [process for [process] in processes]
            made = Cluster(rasa, inboxes, proxy, replicas, database, schema)
            for replica, who in enumerate(AGENTS):  # each on their own replica
                online = {"online": True}
                path = "/agents/me/availability"
                answer = agent(made, who, "POST", path, online, replica)
                assert answer.status_code == 200, answer.text
            yield made
    finally:
        delete_keys(redis, prefix)
        delete_keys(redis, rasa_prefix)
        asyncio.run(schemas.drop_all())


# --- The customer, the agents, the database. ---------------------------------------


def say(base: str, sender: str, text: str) -> List[Dict[str, Any]]:
    answer = requests.post(
        f"{base}/webhooks/handover/webhook",
        json={"sender": sender, "message": text},
        headers=_customer(sender),
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def _customer(sender: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {sender_token(CUSTOMER_SECRET, sender)}"}


def read_until(
    cluster: Cluster, sender: str, last_text: str, seconds: float = WAIT_SECONDS
) -> List[Dict[str, Any]]:
    """The customer's long polls, alternating replicas, until `last_text` arrives.

    One more poll after it: a (wrong) second delivery would show there.
    """
    got: List[Dict[str, Any]] = []
    deadline = time.time() + seconds
    polls = 0
    done = False
    while time.time() < deadline:
        base = cluster.rasa[polls % 2] if _alive(cluster, polls % 2) else None
        polls += 1
        if base is None:
            continue
        answer = requests.get(
            f"{base}/webhooks/handover/messages/{sender}",
            params={"after": got[-1]["id"] if got else 0, "wait": 1 if done else 5},
            headers=_customer(sender),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        got += answer.json()["messages"]
        if done:
            return got
        done = any(last_text in str(m.get("text")) for m in got)
    raise AssertionError(f"{sender} never got {last_text!r}; got {got}")


def _alive(cluster: Cluster, index: int) -> bool:
    return cluster.processes[index].poll() is None


def agent(
    cluster: Cluster,
    who: str,
    method: str,
    path: str,
    body: Optional[dict] = None,
    replica: int = 0,
) -> requests.Response:
    return requests.request(
        method,
        f"{cluster.inboxes[replica]}/api{path}",
        json=body,
        headers={"Authorization": f"Bearer {AGENTS[who]}"},
        timeout=60,
    )


def query(cluster: Cluster, sql: str, *args: Any) -> List[Tuple[Any, ...]]:
    """Rows from the inboxes' schema (the ground truth both replicas share)."""
    connection = psycopg2.connect(cluster.database)
    with closing(connection), connection.cursor() as cursor:
        cursor.execute(f'SET search_path TO "{cluster.schema}"')
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def tickets_of(cluster: Cluster, conversation_id: str) -> List[Tuple[int, str]]:
    return query(
        cluster,
        "SELECT id, status FROM handover_tickets WHERE conversation_id = %s",
        conversation_id,
    )


def wait_for_ticket(cluster: Cluster, conversation_id: str) -> int:
    deadline = time.time() + WAIT_SECONDS
    while time.time() < deadline:
        found = tickets_of(cluster, conversation_id)
        if found:
            return int(found[0][0])
        time.sleep(0.2)
    raise AssertionError(f"no ticket for {conversation_id}")


def customer_lines(cluster: Cluster, ticket_id: int) -> List[str]:
    rows = query(
        cluster,
        "SELECT text FROM handover_messages WHERE ticket_id = %s AND sender = "
        "'customer' ORDER BY id",
        ticket_id,
    )
    return [row[0] for row in rows]


def serve(cluster: Cluster, ticket_id: int, lines: List[str], replica: int) -> str:
    """The ticket's agent (or Maya, if nobody holds it) replies `lines`; their id."""
    rows = query(
        cluster, "SELECT agent_id FROM handover_tickets WHERE id = %s", ticket_id
    )
    who = rows[0][0] or "maya"
    for text in lines:
        answer = agent(
            cluster, who, "POST", f"/tickets/{ticket_id}/reply", {"text": text}, replica
        )
        assert answer.status_code == 201, answer.text
    return str(who)


class CapacityWatch:
    """Samples every agent's open tickets in the database until stopped."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.most: Dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "CapacityWatch":
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            rows = query(
                self.cluster,
                "SELECT agent_id, count(*) FROM handover_tickets WHERE status IN "
                "('assigned', 'active') AND agent_id IS NOT NULL GROUP BY agent_id",
            )
            for who, count in rows:
                self.most[who] = max(self.most.get(who, 0), int(count))
            self.samples += 1
            self._stop.wait(0.1)


def agent_works(cluster: Cluster, who: str, replica: int, done: threading.Event) -> int:
    """An agent on one inbox replica: replies twice to each ticket routed to
    them, then resolves it, until `done`. Returns how many they resolved."""
    resolved = 0
    while not done.is_set():
        answer = agent(cluster, who, "GET", "/queue", replica=replica)
        assert answer.status_code == 200, answer.text
        mine = [
            ticket
            for ticket in answer.json()["tickets"]
            if ticket.get("agent_id") == who
            and ticket["status"] in ("assigned", "active")
        ]
        for ticket in mine:
            conversation = ticket["conversation_id"]
            serve(cluster, ticket["id"], agent_lines(conversation), replica)
            answer = agent(
                cluster, who, "POST", f"/tickets/{ticket['id']}/resolve", {}, replica
            )
            assert answer.status_code == 200, answer.text
            resolved += 1
        if not mine:
            time.sleep(0.3)
    return resolved


def agent_lines(conversation: str) -> List[str]:
    return [f"A1 for {conversation}", f"A2 for {conversation}"]


def customer_texts(conversation: str) -> List[str]:
    return [f"C1 from {conversation}", f"C2 from {conversation}"]


# --- The tests. ----------------------------------------------------------------


def test_conversations_alternating_replicas_are_served_once_in_order(
    cluster: Cluster,
) -> None:
    run = uuid.uuid4().hex[:6]
    conversations = [f"r{run}-{i}" for i in range(CONVERSATIONS)]
    handed_over = conversations[::2]

    acknowledged: Dict[str, List[Dict[str, Any]]] = {}

    def start(i: int) -> None:
        conversation = conversations[i]
        text = HANDOVER if conversation in handed_over else "hello"
        acknowledged[conversation] = say(cluster.rasa[i % 2], conversation, text)
        assert acknowledged[conversation]

    def write(i: int) -> None:
        for turn, text in enumerate(customer_texts(handed_over[i])):
            say(cluster.rasa[(i + turn + 1) % 2], handed_over[i], text)

    done = threading.Event()
    with CapacityWatch(cluster) as watch, ThreadPoolExecutor(8) as pool:
        list(pool.map(start, range(len(conversations))))
        list(pool.map(write, range(len(handed_over))))
        agents = [
            pool.submit(agent_works, cluster, who, replica, done)
            for replica, who in enumerate(AGENTS)
        ]
        try:
            received = {
                conversation: read_until(cluster, conversation, HANDBACK)
                for conversation in handed_over
            }
        finally:
            done.set()
        resolved = sum(future.result() for future in agents)

    assert resolved == len(handed_over)
    for conversation in conversations:
        tickets = tickets_of(cluster, conversation)
        if conversation not in handed_over:
            assert tickets == [], conversation
            continue
        assert [status for _, status in tickets] == ["resolved"], conversation
        ticket_id = tickets[0][0]
        assert customer_lines(cluster, ticket_id) == customer_texts(conversation)
        texts = [str(m.get("text")) for m in received[conversation]]
        replies = [t for t in texts if t in agent_lines(conversation)]
        assert replies == agent_lines(conversation), texts
        handbacks = [t for t in texts if HANDBACK in t]
        assert len(handbacks) == 1, texts
        assert texts.index(handbacks[0]) > texts.index(replies[-1]), texts
        ids = [m["id"] for m in received[conversation]]
        assert ids == sorted(set(ids)), ids
        # Told who the agent is once: at the handover, or when one took it
        # from the queue (whichever replica applied that).
        [(who,)] = query(
            cluster, "SELECT agent_id FROM handover_tickets WHERE id = %s", ticket_id
        )
        told = texts + [str(m.get("text")) for m in acknowledged[conversation]]
        announced = [t for t in told if CONNECTING in t]
        assert len(announced) == 1, told
        assert f"{CONNECTING} {who.title()} " in announced[0], told
    accepted = query(
        cluster,
        "SELECT ticket_id, count(*) FROM handover_events WHERE type = 'accepted' "
        "GROUP BY ticket_id HAVING count(*) > 1",
    )
    assert accepted == [], "tickets accepted more than once"
    assert watch.samples > 0
    assert max(watch.most.values()) <= CAPACITY, watch.most


async def test_a_socket_customer_on_one_replica_gets_a_reply_the_other_applied(
    cluster: Cluster,
) -> None:
    received: List[Dict[str, Any]] = []
    client = socketio.AsyncClient()
    confirmed = asyncio.get_running_loop().create_future()
    client.on("session_confirm", confirmed.set_result)

    @client.on("bot_uttered")
    async def on_bot(data: Dict[str, Any]) -> None:
        received.append(data)

    cluster.balancer.only = 0  # every inbox event reaches replica 0
    applied_before = cluster.balancer.forwarded[:]
    # Long-polling: the client's websocket transport needs a newer aiohttp.
    await client.connect(
        cluster.rasa[1], socketio_path="/socket.io", transports=["polling"]
    )
    try:
        await client.emit("session_request", {"session_id": None})
        session = await asyncio.wait_for(confirmed, 30)
        conversation = session.split(".")[0]
        await client.emit("user_uttered", {"message": HANDOVER, "session_id": session})
        ticket_id = await asyncio.to_thread(wait_for_ticket, cluster, conversation)
        await asyncio.to_thread(serve, cluster, ticket_id, ["Maya here, via A"], 0)
        deadline = time.time() + WAIT_SECONDS
        while not any("via A" in str(m.get("text")) for m in received):
            assert time.time() < deadline, received
            await asyncio.sleep(0.2)
    finally:
        cluster.balancer.only = None
        await client.disconnect()
    assert cluster.balancer.forwarded[0] > applied_before[0]
    assert cluster.balancer.forwarded[1] == applied_before[1]
    replies = [m for m in received if "via A" in str(m.get("text"))]
    assert len(replies) == 1, received


def test_a_killed_replica_leaves_the_conversation_to_the_other(
    cluster: Cluster,
) -> None:
    dana = f"dana-{uuid.uuid4().hex[:6]}"
    doomed, survivor = cluster.rasa
    say(doomed, dana, HANDOVER)
    say(doomed, dana, "C1 before the crash")
    ticket_id = wait_for_ticket(cluster, dana)
    serve(cluster, ticket_id, ["A1 before the crash"], 0)
    read_until(cluster, dana, "A1 before the crash")

    cluster.processes[0].send_signal(signal.SIGKILL)
    cluster.processes[0].wait(30)

    # Still handed over: the bot stays silent, the agent gets the message.
    answer = say(survivor, dana, "C2 after the crash")
    assert not [m for m in answer if HANDBACK in str(m.get("text"))], answer
    deadline = time.time() + WAIT_SECONDS
    while customer_lines(cluster, ticket_id)[-1:] != ["C2 after the crash"]:
        assert time.time() < deadline, customer_lines(cluster, ticket_id)
        time.sleep(0.2)
    assert customer_lines(cluster, ticket_id) == [
        "C1 before the crash",
        "C2 after the crash",
    ]
    # The agent's reply and the hand-back reach the customer through the survivor.
    who = serve(cluster, ticket_id, ["A2 after the crash"], 1)
    answer = agent(cluster, who, "POST", f"/tickets/{ticket_id}/resolve", {}, 1)
    assert answer.status_code == 200, answer.text
    got = read_until(cluster, dana, HANDBACK)
    texts = [str(m.get("text")) for m in got]
    after = texts[texts.index("A1 before the crash") + 1 :]
    assert [t for t in after if "crash" in t] == ["A2 after the crash"], texts
    assert len([t for t in texts if HANDBACK in t]) == 1, texts

"""The standalone inbox on PostgreSQL, one replica and two, under relayed traffic.

For each replica count (default 1 and 2) and each size (default 100 and 1,000
handed-over conversations), starts that many `rasa-handover inbox` processes on
one fresh PostgreSQL schema and drives every conversation at once: the customer
sends a message (a signed channel call, `HttpInboxClient.relay_message`, exactly
as the channel sends it), the conversation's agent answers through the agent
API (`POST /api/tickets/<id>/reply`), `--messages` times each. Calls alternate
between the replicas. A call that fails (or takes longer than `--timeout`) is
retried the way the channel's outbox would, with the message's
`client_message_id`: a call that timed out after its message was stored must
not show up as a duplicate.

Measures messages per second, the p50/p95 of a call (sent -> stored and
answered), and counts every message in the database afterwards: lost,
duplicated, out of order. Prints the two-replica / one-replica ratio of
messages per second. The load generator runs on the same machine as the
replicas and PostgreSQL.

Needs a PostgreSQL server: `HANDOVER_TEST_POSTGRES_URL` (or `--db`).

    HANDOVER_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
      .venv/bin/python benchmarks/bench_inbox_replicas.py \\
      [--replicas 1 2] [--sizes 100 1000]
"""

import argparse
import asyncio
import contextlib
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import aiohttp
import requests
import sqlalchemy as sa

from rasa_handover.channels.inbox_client import (
    HTTP_TIMEOUT_SECONDS,
    HttpInboxClient,
    InboxRejectedError,
    InboxUnavailableError,
)
from rasa_handover.channels.outbox import backoff_seconds
from rasa_handover.inbox.contract import CLIENT_MESSAGE_ID
from rasa_handover.inbox.signing import SigningKeys
from rasa_handover.inbox.store import InboxStore, to_async_url
from rasa_handover.limits import MAX_OUTBOX_ATTEMPTS

RESULTS = Path(__file__).parent / "results"
POSTGRES_ENV = "HANDOVER_TEST_POSTGRES_URL"
BIN = Path(sys.executable).parent
SECRET = "benchmark-shared-secret-0123456789abcdef"
CONVERSATIONS_PER_AGENT = 10
STARTUP_SECONDS = 120
# Seconds a call may take before it counts as failed and is tried again
# (`--timeout`; the channel's own is `HTTP_TIMEOUT_SECONDS`, 5 s).
CALL_TIMEOUT_SECONDS = 30.0
PREFIX = "/webhooks/handover/inbox"


def agent_token(i: int) -> str:
    """Agent i's token, as long as the inbox requires (32 characters)."""
    return f"benchmark-agent-token-{i:010d}"


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def inbox_yml(agents: int) -> str:
    return json.dumps(
        {
            "shared_secret": SECRET,
            "housekeeping_seconds": 0,
            # The benchmark's agents have no page sending heartbeats.
            "presence_grace_seconds": 0,
            "agents": [
                {
                    "name": f"Agent {i}",
                    "token": agent_token(i),
                    "teams": ["general"],
                    "capacity": CONVERSATIONS_PER_AGENT,
                }
                for i in range(agents)
            ],
        }
    )


@contextlib.contextmanager
def replicas(
    count: int, directory: Path, db: str, schema: str, agents: int
) -> Iterator[List[str]]:
    """`count` standalone inboxes on one schema; yields their API URLs."""
    (directory / "inbox.yml").write_text(inbox_yml(agents))
    processes: List[subprocess.Popen] = []
    urls: List[str] = []
    with contextlib.ExitStack() as logs:
        try:
            yield from _start(count, directory, db, schema, processes, urls, logs)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def _start(
    count: int,
    directory: Path,
    db: str,
    schema: str,
    processes: List[subprocess.Popen],
    urls: List[str],
    logs: contextlib.ExitStack,
) -> Iterator[List[str]]:
    """Starts the replicas one after the other (the first creates the tables)."""
    for n in range(count):
        port = free_port()
        # Closed by `logs` when the replicas stop.
        log = logs.enter_context(open(directory / f"inbox-{n}.log", "w"))  # noqa: SIM115
        processes.append(
            subprocess.Popen(
                [
                    str(BIN / "rasa-handover"),
                    "inbox",
                    "--config",
                    str(directory / "inbox.yml"),
                    "--db",
                    db,
                    "--schema",
                    schema,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        url = f"http://127.0.0.1:{port}{PREFIX}"
        wait_until_up(f"{url}/api/health", processes[-1], Path(log.name))
        urls.append(url)
    yield urls


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.time() + STARTUP_SECONDS
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up; see {log}")


async def with_retries(call: Any) -> int:
    """Awaits `call()` until it succeeds; returns how many tries failed.

    Retried as the channel's outbox retries: after 1, 2, 4, ... seconds
    (`backoff_seconds`), `MAX_OUTBOX_ATTEMPTS` tries at most.
    """
    for failed in range(MAX_OUTBOX_ATTEMPTS):
        try:
            await call()
            return failed
        except (InboxUnavailableError, aiohttp.ClientError, asyncio.TimeoutError):
            if failed + 1 == MAX_OUTBOX_ATTEMPTS:
                raise
            await asyncio.sleep(backoff_seconds(failed + 1))
    return MAX_OUTBOX_ATTEMPTS


async def run(
    urls: List[str],
    size: int,
    messages: int,
    db: str,
    schema: str,
    timeout: float = CALL_TIMEOUT_SECONDS,
) -> Dict[str, Any]:
    keys = SigningKeys.from_settings(SECRET)
    assert keys is not None
    clients = [HttpInboxClient(url, keys, timeout=timeout) for url in urls]
    agents = max(1, size // CONVERSATIONS_PER_AGENT)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
    try:
        for i in range(agents):
            async with session.post(
                f"{urls[0]}/api/agents/me/availability",
                json={"online": True},
                headers={"Authorization": f"Bearer {agent_token(i)}"},
            ) as answer:
                assert answer.status == 200, await answer.text()
        run_id = uuid.uuid4().hex[:6]
        conversations = [f"replicas-{run_id}-{i}" for i in range(size)]
        ticket_of: Dict[str, int] = {}
        token_of: Dict[str, str] = {}
        for n, conversation in enumerate(conversations):
            view = await clients[n % len(clients)].request_handover(
                conversation, 1, {"trigger": {"reason": "explicit_request"}}
            )
            if view.get("agent_name"):
                ticket_of[conversation] = int(view["ticket_id"])
                token_of[conversation] = agent_token(
                    int(str(view["agent_name"]).rsplit(" ", 1)[1])
                )

        latencies: List[float] = []
        retried = 0

        async def agent_reply(url: str, conversation: str, text: str, key: str) -> None:
            async with session.post(
                f"{url}/api/tickets/{ticket_of[conversation]}/reply",
                json={"text": text, CLIENT_MESSAGE_ID: key},
                headers={"Authorization": f"Bearer {token_of[conversation]}"},
            ) as answer:
                body = await answer.text()
                if answer.status >= 500:
                    raise InboxUnavailableError(f"HTTP {answer.status}: {body[:200]}")
                if answer.status >= 400:
                    raise InboxRejectedError(f"HTTP {answer.status}: {body[:200]}")

        async def conversation_turns(index: int, conversation: str) -> None:
            nonlocal retried
            for n in range(messages):
                # Alternate replicas per call, as a load balancer would.
                client = clients[(index + 2 * n) % len(clients)]
                text = f"{conversation} customer {n}"
                start = time.perf_counter()
                # Awaited first: `retried += await ...` would read `retried`
                # before the await and lose the other conversations' counts.
                # One key per message, made before the first try (as the
                # channel does): every retry of the message carries it.
                key = uuid.uuid4().hex
                failed = await with_retries(
                    functools.partial(client.relay_message, conversation, text, key)
                )
                retried += failed
                latencies.append(time.perf_counter() - start)
                url = urls[(index + 2 * n + 1) % len(urls)]
                reply = f"{conversation} agent {n}"
                start = time.perf_counter()
                failed = await with_retries(
                    functools.partial(
                        agent_reply, url, conversation, reply, uuid.uuid4().hex
                    )
                )
                retried += failed
                latencies.append(time.perf_counter() - start)

        cpu_before = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(
            *(
                conversation_turns(i, c)
                for i, c in enumerate(conversations)
                if c in ticket_of
            )
        )
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - cpu_before
    finally:
        await session.close()
    counts = await count_messages(db, schema, ticket_of, messages)
    total = 2 * messages * len(ticket_of)
    return {
        "replicas": len(urls),
        "conversations": size,
        "handed_over": len(ticket_of),
        "messages": total,
        "seconds": round(elapsed, 3),
        "messages_per_second": round(total / elapsed, 1),
        "call_p50_ms": round(statistics.median(latencies) * 1e3, 2),
        "call_p95_ms": round(percentile(latencies, 0.95) * 1e3, 2),
        "retried_calls": retried,
        # The load generator's own CPU (signing, HTTP): it shares the cores.
        "client_cpu_ms_per_call": round(client_cpu / total * 1e3, 3),
        **counts,
    }


async def count_messages(
    db: str, schema: str, ticket_of: Dict[str, int], messages: int
) -> Dict[str, int]:
    """Lost, duplicated and out-of-order messages, read back from the database."""
    store = InboxStore(db, schema=schema)
    lost = out_of_order = 0
    duplicated = Counter({"customer": 0, "agent": 0})
    try:
        for conversation, ticket_id in ticket_of.items():
            stored = [m.text for m in await store.messages(ticket_id)]
            counts = Counter(stored)
            for sender in ("customer", "agent"):
                expected = [f"{conversation} {sender} {n}" for n in range(messages)]
                lost += sum(1 for text in expected if text not in counts)
                duplicated[sender] += sum(
                    counts[text] - 1 for text in expected if counts[text]
                )
                mine = [text for text in stored if f" {sender} " in text]
                out_of_order += mine != sorted(mine, key=lambda t: int(t.rsplit()[-1]))
    finally:
        await store.close()
    return {
        "lost": lost,
        "duplicated": sum(duplicated.values()),
        "duplicated_customer": duplicated["customer"],
        "duplicated_agent": duplicated["agent"],
        "conversations_out_of_order": out_of_order,
    }


async def schema_statements(db: str, statements: List[str]) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(to_async_url(db))
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get(POSTGRES_ENV))
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument(
        "--timeout",
        type=float,
        default=CALL_TIMEOUT_SECONDS,
        help="seconds before a call is retried (the channel's: "
        f"{HTTP_TIMEOUT_SECONDS:g}; overloads an inbox that cannot keep up)",
    )
    args = parser.parse_args()
    if not args.db:
        print(f"skipped: set {POSTGRES_ENV} (or --db) to a PostgreSQL server URL")
        return
    results: List[Dict[str, Any]] = []
    for count in args.replicas:
        for size in args.sizes:
            schema = f"bench_replicas_{uuid.uuid4().hex[:10]}"
            asyncio.run(schema_statements(args.db, [f'CREATE SCHEMA "{schema}"']))
            try:
                with tempfile.TemporaryDirectory() as directory, replicas(
                    count,
                    Path(directory),
                    args.db,
                    schema,
                    max(1, size // CONVERSATIONS_PER_AGENT),
                ) as urls:
                    results.append(
                        asyncio.run(
                            run(
                                urls,
                                size,
                                args.messages,
                                args.db,
                                schema,
                                args.timeout,
                            )
                        )
                    )
            finally:
                asyncio.run(
                    schema_statements(
                        args.db, [f'DROP SCHEMA IF EXISTS "{schema}" CASCADE']
                    )
                )
            report(results[-1])
    summary = {"runs": results, "ratios": ratios(results)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "inbox_replicas.json").write_text(json.dumps(summary, indent=2))
    for size, ratio in summary["ratios"].items():
        print(f"{size} conversations: two replicas / one = {ratio}x messages/s")


def ratios(results: List[Dict[str, Any]]) -> Dict[str, Optional[float]]:
    """Messages/s of two replicas over one, per size (None: not both measured)."""
    by = {(r["replicas"], r["conversations"]): r for r in results}
    found: Dict[str, Optional[float]] = {}
    for (count, size), result in by.items():
        if count == 2 and (1, size) in by:
            one = by[(1, size)]["messages_per_second"]
            found[str(size)] = round(result["messages_per_second"] / one, 2)
    return found


def report(r: Dict[str, Any]) -> None:
    print(
        f"inbox on PostgreSQL, {r['replicas']} replica(s), {r['conversations']} "
        f"conversations: {r['messages']} messages in {r['seconds']} s = "
        f"{r['messages_per_second']} msg/s; call p50 {r['call_p50_ms']} ms / p95 "
        f"{r['call_p95_ms']} ms; retried {r['retried_calls']}; client CPU "
        f"{r['client_cpu_ms_per_call']} ms/call; lost {r['lost']}, "
        f"duplicated {r['duplicated']} (customer {r['duplicated_customer']}, agent "
        f"{r['duplicated_agent']}), out of order "
        f"{r['conversations_out_of_order']}",
        flush=True,
    )


if __name__ == "__main__":
    main()

"""What sharing one PostgreSQL between inbox replicas costs and gains.

Two `InboxService`s on one PostgreSQL schema stand for two replicas (each its
own store and connection pool, in one process). Measured, each against a
baseline in the same run:

* Live events across replicas: a ticket created on B, until A's event stream
  (the loop of `GET api/events`: wait for a change, read the events) has it.
  With A's `ChangeFeed` (LISTEN/NOTIFY) against polling alone (every
  `SSE_POLL_SECONDS`, what replicas did before).
* What the NOTIFY in each event's `INSERT` costs: agent messages stored one
  after another, with and without it (`store.change_channel = None`), in
  alternating rounds (the median round of each).
* The shared replay check: one `use_once` (a signed call's nonce) against a
  stored message, per call, sequential.

    HANDOVER_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python benchmarks/bench_replica_events.py [--events 100]
"""

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks.common import latency_summary, percentile, write_result
from rasa_handover.inbox.api import SSE_POLL_SECONDS
from rasa_handover.inbox.change_feed import ChangeFeed
from rasa_handover.inbox.service import InboxService
from rasa_handover.inbox.store import InboxStore, to_async_url
from rasa_handover.inbox.store.replay import USED_SIGNATURE_NONCE

POSTGRES_ENV = "HANDOVER_TEST_POSTGRES_URL"
ROUNDS = 5


async def stream_latencies(
    url: str, schema: str, events: int, with_feed: bool
) -> List[float]:
    """Milliseconds from B starting to write a ticket to A's stream reading it.

    From the start of the write: A may see the event before B's call returns.
    """
    here = InboxService(InboxStore(url, schema=schema))
    there = InboxStore(url, schema=schema)
    feed: Optional[ChangeFeed] = None
    if with_feed:
        feed = ChangeFeed(here.store, here.changed_elsewhere)
        await feed.start()
        assert feed.listening is not None
        await asyncio.wait_for(feed.listening.wait(), 30)
    seen: Dict[int, float] = {}
    stop = asyncio.Event()

    async def stream() -> None:  # the loop of `_InboxApi.events`
        after_id = await here.store.latest_event_id()
        while not stop.is_set():
            for event in await here.store.events(after_id=after_id):
                seen.setdefault(event.ticket_id, time.perf_counter())
                after_id = event.id
            await here.wait_for_change(SSE_POLL_SECONDS)

    reader = asyncio.ensure_future(stream())
    latencies = []
    try:
        for number in range(events):
            # At a random moment relative to the poll, as real traffic comes.
            await asyncio.sleep(random.uniform(0.05, SSE_POLL_SECONDS))
            written = time.perf_counter()
            ticket, _ = await there.create_ticket(f"bench-{uuid.uuid4().hex}", 1, {})
            while ticket.id not in seen:
                await asyncio.sleep(0.001)
            latencies.append((seen[ticket.id] - written) * 1000)
            if number % 20 == 19:
                print(f"  {'feed' if with_feed else 'poll'}: {number + 1}/{events}")
    finally:
        stop.set()
        here.changed_elsewhere()
        await reader
        if feed is not None:
            await feed.close()
        await here.close()
        await there.close()
    return latencies


async def message_rate(url: str, schema: str, messages: int, notify: bool) -> float:
    """Agent messages stored per second, one after another."""
    store = InboxStore(url, schema=schema)
    if not notify:
        store.change_channel = None
    ticket, _ = await store.create_ticket(f"bench-{uuid.uuid4().hex}", 1, {})
    try:
        started = time.perf_counter()
        for number in range(messages):
            await store.add_message(ticket.id, "agent", f"reply {number}", "Maya")
        return messages / (time.perf_counter() - started)
    finally:
        await store.close()


async def per_call_ms(url: str, schema: str, calls: int) -> Dict[str, float]:
    """Milliseconds per `use_once` and per stored message, sequential."""
    store = InboxStore(url, schema=schema)
    ticket, _ = await store.create_ticket(f"bench-{uuid.uuid4().hex}", 1, {})
    until = store.clock() + timedelta(minutes=5)
    try:
        started = time.perf_counter()
        for _ in range(calls):
            assert await store.use_once(USED_SIGNATURE_NONCE, uuid.uuid4().hex, until)
        nonce_ms = (time.perf_counter() - started) * 1000 / calls
        started = time.perf_counter()
        for number in range(calls):
            await store.add_message(ticket.id, "customer", f"message {number}")
        message_ms = (time.perf_counter() - started) * 1000 / calls
    finally:
        await store.close()
    return {
        "use_once_ms": round(nonce_ms, 3),
        "stored_message_ms": round(message_ms, 3),
        "use_once_share_of_message": round(nonce_ms / message_ms, 3),
    }


async def with_schema(url: str, work: Any) -> Any:
    schema = f"handover_bench_{uuid.uuid4().hex[:10]}"
    engine = create_async_engine(to_async_url(url))
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        store = InboxStore(url, schema=schema)
        await store.create_all()
        await store.close()
        return await work(schema)
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


async def main_async(url: str, events: int, messages: int) -> Dict[str, Any]:
    async def work(schema: str) -> Dict[str, Any]:
        polled = await stream_latencies(url, schema, events, with_feed=False)
        fed = await stream_latencies(url, schema, events, with_feed=True)
        rates: Dict[bool, List[float]] = {False: [], True: []}
        for _ in range(ROUNDS):
            for notify in (False, True):
                rates[notify].append(
                    await message_rate(url, schema, messages // ROUNDS, notify)
                )
        plain, notified = (statistics.median(rates[key]) for key in (False, True))
        calls = await per_call_ms(url, schema, messages)
        return {
            "live_event_across_replicas": {
                "polling_only": latency_summary(polled),
                "listen_notify": latency_summary(fed),
                "p95_polling_ms": round(percentile(polled, 0.95), 3),
                "p95_listen_notify_ms": round(percentile(fed, 0.95), 3),
                "p50_ratio_notify_vs_polling": round(
                    sorted(fed)[len(fed) // 2] / sorted(polled)[len(polled) // 2], 4
                ),
            },
            "stored_messages_per_second": {
                "without_notify": round(plain, 1),
                "with_notify": round(notified, 1),
                "ratio": round(notified / plain, 3),
            },
            "replay_check": calls,
        }

    return dict(await with_schema(url, work))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        raise SystemExit(f"set {POSTGRES_ENV} (a PostgreSQL server to measure on)")
    result = asyncio.run(main_async(url, args.events, args.messages))
    print(result)
    print(write_result("replica_events", result))


if __name__ == "__main__":
    main()

"""Relayed conversations through the handover channel and the inbox on SQLite.

For N concurrent handed-over conversations (default 10, 100, 1000), every
customer sends `--messages` messages through the channel's relay into the inbox
while the conversation's agent answers each one; agent replies travel back
through the inbox's event subscription into the channel's customer mailbox.

Measures messages per second (both directions), the p50/p95 delivery latency of
a message (sent -> stored in the inbox for customer messages; sent -> in the
customer's mailbox for agent replies), and counts every message at both ends to
prove none was lost or duplicated.

Runs in one process: Rasa's own processing of each customer message (NLU,
policies) is not part of this figure; `bench_overhead.py` measures that.

    .venv/bin/python benchmarks/bench_inbox_throughput.py [--sizes 10 100 1000]
"""

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

from rasa_handover.channels import HandoverInput
from rasa_handover.channels.outbox import Outbox
from rasa_handover.constants import MESSAGE_HANDOVER
from rasa_handover.inbox.config import InboxConfig

RESULTS = Path(__file__).parent / "results"
AGENTS_PER_CONVERSATIONS = 10  # one agent per 10 conversations, capacity 10
TEMPLATES = {"utter_handover_connecting": {"text": "Connecting you with {agent_name}."}}


def agent_token(i: int) -> str:
    """Agent i's token, as long as the inbox requires (32 characters)."""
    return f"benchmark-agent-token-{i:010d}"


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def run(size: int, messages: int, directory: Path) -> Dict[str, Any]:
    agents = max(1, size // AGENTS_PER_CONVERSATIONS)
    (directory / "inbox.yml").write_text(
        json.dumps(
            {
                "agents": [
                    {
                        "name": f"Agent {i}",
                        "token": agent_token(i),
                        "teams": ["general"],
                        "capacity": AGENTS_PER_CONVERSATIONS,
                    }
                    for i in range(agents)
                ],
                "housekeeping_seconds": 0,
                # The benchmark's agents have no page sending heartbeats.
                "presence_grace_seconds": 0,
            }
        )
    )

    async def to_rasa(_: Any) -> None:
        return None

    channel = HandoverInput(
        db=f"sqlite:///{directory}/handover-{size}.db",
        inbox_config=str(directory / "inbox.yml"),
        outbox=str(directory / f"outbox-{size}.db"),
    )
    channel.blueprint(to_rasa)
    channel.relay.outbox = Outbox(str(directory / f"outbox-{size}.db"))
    config = InboxConfig.from_yaml(directory / "inbox.yml")
    service = channel.service
    await service.start(config.agent_profiles())
    store = service.store
    for i in range(agents):
        agent = await store.agent_by_token(agent_token(i))
        await service.set_availability(agent, True)

    conversations = [f"bench-{size}-{i}" for i in range(size)]
    for conversation in conversations:
        await channel.relay.handle_plugin_message(
            conversation,
            {
                "type": MESSAGE_HANDOVER,
                "attempt": 1,
                "payload": {"trigger": {"reason": "explicit_request"}},
                "responses": TEMPLATES,
            },
            channel.customer_output(),
        )
    tickets = {}
    agent_of = {}
    for i in range(agents):
        agent = await store.agent_by_token(agent_token(i))
        mine, _ = await service.queue_for(agent)
        for ticket in mine:
            if ticket.agent_id == agent.id:
                tickets[ticket.conversation_id] = ticket.id
                agent_of[ticket.conversation_id] = agent

    sent_at: Dict[str, float] = {}
    customer_latency: List[float] = []
    agent_latency: List[float] = []

    async def customer(conversation: str) -> None:
        for n in range(messages):
            text = f"{conversation} customer {n}"
            start = time.perf_counter()
            await channel.relay.relay_to_inbox(conversation, text)
            customer_latency.append(time.perf_counter() - start)

    async def agent_side(conversation: str) -> None:
        for n in range(messages):
            text = f"{conversation} agent {n}"
            sent_at[text] = start = time.perf_counter()
            # The channel's subscription runs inside the reply call, so the
            # message is in the customer's mailbox when the call returns.
            await service.agent_reply(
                tickets[conversation], agent_of[conversation], text
            )
            agent_latency.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(
        *(customer(c) for c in conversations if c in tickets),
        *(agent_side(c) for c in conversations if c in tickets),
    )
    elapsed = time.perf_counter() - started

    # Count at both ends.
    stored = Counter()
    for ticket_id in tickets.values():
        for message in await store.messages(ticket_id):
            if message.sender == "customer":
                stored[message.text] += 1
    delivered = Counter()
    for conversation in tickets:
        for message in channel.mailbox.since(conversation, 0):
            text = message["text"]
            if text in sent_at:
                delivered[text] += 1
    expected_customer = {f"{c} customer {n}" for c in tickets for n in range(messages)}
    expected_agent = {f"{c} agent {n}" for c in tickets for n in range(messages)}
    lost = len(expected_customer - set(stored)) + len(expected_agent - set(delivered))
    duplicated = sum(c - 1 for c in stored.values() if c > 1) + sum(
        c - 1 for c in delivered.values() if c > 1
    )
    total = len(expected_customer) + len(expected_agent)
    await service.close()
    return {
        "conversations": size,
        "handed_over": len(tickets),
        "messages": total,
        "seconds": round(elapsed, 3),
        "messages_per_second": round(total / elapsed, 1),
        "customer_to_inbox_p50_ms": round(statistics.median(customer_latency) * 1e3, 2),
        "customer_to_inbox_p95_ms": round(percentile(customer_latency, 0.95) * 1e3, 2),
        "agent_to_customer_p50_ms": round(statistics.median(agent_latency) * 1e3, 2),
        "agent_to_customer_p95_ms": round(percentile(agent_latency, 0.95) * 1e3, 2),
        "lost": lost,
        "duplicated": duplicated,
    }


async def main_async(sizes: List[int], messages: int) -> List[Dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for size in sizes:
            results.append(await run(size, messages, Path(directory)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--messages", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(main_async(args.sizes, args.messages))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "inbox_throughput.json").write_text(json.dumps(results, indent=2))
    for r in results:
        print(
            f"inbox throughput, {r['conversations']} conversations: "
            f"{r['messages']} messages in {r['seconds']} s = "
            f"{r['messages_per_second']} msg/s; customer->inbox p50 "
            f"{r['customer_to_inbox_p50_ms']} ms / p95 "
            f"{r['customer_to_inbox_p95_ms']} ms; "
            f"agent->customer p95 {r['agent_to_customer_p95_ms']} ms; "
            f"lost {r['lost']}, duplicated {r['duplicated']}"
        )


if __name__ == "__main__":
    main()

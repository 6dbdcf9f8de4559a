"""Relayed conversations through the handover channel and the inbox on SQLite.

For N concurrent handed-over conversations (default 10, 100, 1000), each
accepted by its agent, every
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
    .venv/bin/python benchmarks/bench_inbox_throughput.py --sizes 1000 --rate 500

Without `--rate` every message of every conversation is sent at once (a burst:
latency is then mostly queueing, Little's law); with it, messages arrive at that
rate in total, each conversation's customer and agent taking turns, which is
what "1,000 live conversations at 500 messages/s" means.
"""

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

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


def _number(text: str) -> int:
    """The message's number within its conversation (its last word)."""
    return int(text.rsplit(" ", 1)[1])


async def run(
    size: int, messages: int, directory: Path, rate: Optional[float] = None
) -> Dict[str, Any]:
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
    # Live conversations: each agent has accepted their tickets (accepting is
    # part of the handover, measured by bench_handover_latency.py).
    for conversation, ticket_id in tickets.items():
        await service.claim(ticket_id, agent_of[conversation])

    sent_at: Dict[str, float] = {}
    customer_latency: List[float] = []
    agent_latency: List[float] = []

    async def send_customer(conversation: str, n: int, start: float) -> None:
        await channel.relay.relay_to_inbox(conversation, f"{conversation} customer {n}")
        customer_latency.append(time.perf_counter() - start)

    async def send_agent(conversation: str, n: int, start: float) -> None:
        text = f"{conversation} agent {n}"
        sent_at[text] = start
        # The channel's subscription runs inside the reply call, so the
        # message is in the customer's mailbox when the call returns.
        await service.agent_reply(tickets[conversation], agent_of[conversation], text)
        agent_latency.append(time.perf_counter() - start)

    async def customer(conversation: str) -> None:
        for n in range(messages):
            await send_customer(conversation, n, time.perf_counter())

    async def agent_side(conversation: str) -> None:
        for n in range(messages):
            await send_agent(conversation, n, time.perf_counter())

    async def paced(conversation: str, offset: float) -> None:
        """Customer and agent take turns, one message every `len / rate` s.

        Latency counts from the scheduled time, so a message sent late because
        the previous one was slow still counts its wait.
        """
        gap = len(tickets) / rate
        for k in range(2 * messages):
            scheduled = started + offset + k * gap
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            send = send_customer if k % 2 == 0 else send_agent
            await send(conversation, k // 2, scheduled)

    live = [c for c in conversations if c in tickets]
    cpu_before = time.process_time()
    started = time.perf_counter()
    if rate:
        await asyncio.gather(*(paced(c, i / rate) for i, c in enumerate(live)))
    else:
        await asyncio.gather(
            *(customer(c) for c in live), *(agent_side(c) for c in live)
        )
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before

    # Count at both ends, and check each conversation's order.
    stored: Counter = Counter()
    delivered: Counter = Counter()
    out_of_order = 0
    for conversation, ticket_id in tickets.items():
        texts = [
            message.text
            for message in await store.messages(ticket_id)
            if message.sender == "customer"
        ]
        stored.update(texts)
        out_of_order += texts != sorted(texts, key=_number)
        texts = [
            message["text"]
            for message in channel.mailbox.since(conversation, 0)
            if message["text"] in sent_at
        ]
        delivered.update(texts)
        out_of_order += texts != sorted(texts, key=_number)
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
        "conversations_out_of_order": out_of_order,
        "offered_rate": rate,
        "cpu_ms_per_message": round(cpu / total * 1e3, 3),
    }


async def main_async(
    sizes: List[int], messages: int, rate: Optional[float]
) -> List[Dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for size in sizes:
            results.append(await run(size, messages, Path(directory), rate))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="messages per second offered, both directions together, spread "
        "evenly over the conversations (default: all at once, a burst)",
    )
    args = parser.parse_args()
    results = asyncio.run(main_async(args.sizes, args.messages, args.rate))
    RESULTS.mkdir(exist_ok=True)
    name = f"inbox_throughput_rate{args.rate:g}" if args.rate else "inbox_throughput"
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2))
    for r in results:
        print(
            f"inbox throughput, {r['conversations']} conversations: "
            f"{r['messages']} messages in {r['seconds']} s = "
            f"{r['messages_per_second']} msg/s; customer->inbox p50 "
            f"{r['customer_to_inbox_p50_ms']} ms / p95 "
            f"{r['customer_to_inbox_p95_ms']} ms; "
            f"agent->customer p95 {r['agent_to_customer_p95_ms']} ms; "
            f"lost {r['lost']}, duplicated {r['duplicated']}, "
            f"out of order {r['conversations_out_of_order']}; "
            f"CPU {r['cpu_ms_per_message']} ms/message"
        )


if __name__ == "__main__":
    main()

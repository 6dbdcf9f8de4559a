"""Relayed messages with `rasa run` in the loop: the fast path against Rasa's whole way.

Real processes on loopback: the example bot served by `rasa run` (the handover
channel, the embedded inbox on SQLite) and its action server. `--conversations`
customers hand over ("I want to talk to a human"; one agent online with room
for all of them), then each sends `--messages` messages, one after the other,
all customers at once, through the channel's REST endpoint. The same run starts
two `rasa run` processes with the same model, one after the other:
`relay_fast_path: false` (every message through NLU and the policies, as before
the fast path) and `relay_fast_path: true`.

Measured for each: relayed messages per second, the CPU time of the `rasa run`
process per relayed message (user + system, all its threads, from /proc), the
customer's request p50 / p95, and the counts: every message on the ticket once
and in order, and in the tracker once and in order (Rasa's HTTP API). Derived:
the live handed-over conversations one core carries if each customer writes one
message every `--seconds-per-message` seconds (20: a typed chat).

    .venv/bin/python benchmarks/bench_relay_fast_path.py \
        [--conversations 40] [--messages 10]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Tuple

import requests

# The real-process helpers of the end-to-end tests start the servers here too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import machine, percentile
from tests.e2e.servers import (
    action_server,
    ensure_example_model,
    rasa_server,
)

RESULTS = Path(__file__).parent / "results"
TOKEN = "bench-token-0123456789abcdef0123456789"
INBOX_YML = f"""
agents:
  - name: Maya
    token: {TOKEN}
    teams: [general, billing, technical, sales, account, retention, compliance]
    languages: [en, de, es]
    capacity: 100000
housekeeping_seconds: 0
presence_grace_seconds: 0
"""
# What customers write to the agent (none of it a callback or a message left).
LINES = (
    "my order number is ORD-1182",
    "it still says payment failed",
    "I tried another card as well",
    "the app shows error 403 after login",
    "ok thanks, waiting",
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def pid_serving(port: int) -> int:
    """The `rasa run` process started with `--port <port>`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            b"run" in arguments
            and b"--port" in arguments
            and arguments[arguments.index(b"--port") + 1] == str(port).encode()
        ):
            return int(entry.name)
    raise RuntimeError(f"no rasa process with --port {port}")


def agent_get(base: str, path: str) -> Any:
    answer = requests.get(
        f"{base}/webhooks/handover/inbox/api{path}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    answer.raise_for_status()
    return answer.json()


def say(session: requests.Session, base: str, sender: str, text: str) -> float:
    start = time.perf_counter()
    session.post(
        f"{base}/webhooks/handover/webhook",
        json={"sender": sender, "message": text},
        timeout=120,
    ).raise_for_status()
    return time.perf_counter() - start


def customer_lines(conversation: int, messages: int) -> List[str]:
    return [f"{LINES[i % len(LINES)]} ({conversation}.{i})" for i in range(messages)]


def hand_over(base: str, senders: List[str]) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda s: say(requests.Session(), base, s, "I want to talk to a human"),
                senders,
            )
        )


def relay_all(
    base: str, senders: List[str], messages: int
) -> Tuple[float, List[float]]:
    """Every customer sends its lines one after the other, all at once."""

    def one_customer(index: int) -> List[float]:
        session = requests.Session()
        return [
            say(session, base, senders[index], line)
            for line in customer_lines(index, messages)
        ]

    start = time.perf_counter()
    with ThreadPoolExecutor(len(senders)) as pool:
        latencies = [
            t for ts in pool.map(one_customer, range(len(senders))) for t in ts
        ]
    return time.perf_counter() - start, latencies


def counts(base: str, senders: List[str], messages: int) -> Dict[str, int]:
    """Messages lost, duplicated or out of order, on the tickets and trackers."""
    tickets = {
        t["conversation_id"]: t["id"] for t in agent_get(base, "/queue")["tickets"]
    }
    result = {"ticket_wrong": 0, "tracker_wrong": 0, "ticket_lost": 0}
    for index, sender in enumerate(senders):
        expected = customer_lines(index, messages)
        if sender not in tickets:
            result["ticket_lost"] += len(expected)
            continue
        stored = agent_get(base, f"/tickets/{tickets[sender]}")["messages"]
        on_ticket = [
            m["text"]
            for m in stored
            if m["sender"] == "customer" and m["text"] in expected
        ]
        result["ticket_wrong"] += on_ticket != expected
        tracker = requests.get(
            f"{base}/conversations/{sender}/tracker", timeout=60
        ).json()
        said = [
            e["text"]
            for e in tracker["events"]
            if e["event"] == "user" and e.get("text") in expected
        ]
        result["tracker_wrong"] += said != expected
    return result


def measure(
    workdir: Path, model: Path, action_url: str, fast: bool, args: argparse.Namespace
) -> Dict[str, Any]:
    name = "fast" if fast else "full"
    (workdir / "inbox.yml").write_text(INBOX_YML)
    credentials = f"""
rasa_handover.channels.HandoverInput:
  db: sqlite:///{workdir}/handover-{name}.db
  outbox: {workdir}/outbox-{name}.db
  inbox_config: {workdir}/inbox.yml
  relay_fast_path: {str(fast).lower()}
"""
    with rasa_server(
        workdir,
        model,
        credentials,
        action_url,
        extra_args=["--enable-api"],
        name=f"bench-relay-{name}",
    ) as base:
        requests.post(
            f"{base}/webhooks/handover/inbox/api/agents/me/availability",
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={"online": True},
            timeout=30,
        ).raise_for_status()
        senders = [f"{name}-{uuid.uuid4().hex[:8]}" for _ in range(args.conversations)]
        hand_over(base, senders)
        pid = pid_serving(int(base.rsplit(":", 1)[1]))
        cpu_before = cpu_seconds(pid)
        wall, latencies = relay_all(base, senders, args.messages)
        cpu = cpu_seconds(pid) - cpu_before
        checked = counts(base, senders, args.messages)
    relayed = len(latencies)
    cpu_ms = cpu / relayed * 1e3
    return {
        "relay_fast_path": fast,
        "relayed": relayed,
        "messages_per_second": round(relayed / wall, 1),
        "cpu_ms_per_message": round(cpu_ms, 2),
        "p50_ms": round(statistics.median(latencies) * 1e3, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1e3, 1),
        "live_conversations_per_core": int(args.seconds_per_message * 1e3 / cpu_ms),
        **checked,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--seconds-per-message", type=float, default=20.0)
    args = parser.parse_args()
    model = ensure_example_model()
    with tempfile.TemporaryDirectory() as directory, action_server() as action_url:
        full = measure(Path(directory), model, action_url, False, args)
        fast = measure(Path(directory), model, action_url, True, args)
    result = {
        "benchmark": "relay_fast_path",
        "conversations": args.conversations,
        "messages_each": args.messages,
        "seconds_per_message": args.seconds_per_message,
        "full": full,
        "fast": fast,
        "cpu_ratio_fast_to_full": round(
            fast["cpu_ms_per_message"] / full["cpu_ms_per_message"], 3
        ),
        "throughput_ratio_fast_to_full": round(
            fast["messages_per_second"] / full["messages_per_second"], 2
        ),
        "machine": machine(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "relay_fast_path.json").write_text(json.dumps(result, indent=2))
    for run in (full, fast):
        print(
            f"relay_fast_path={str(run['relay_fast_path']).lower()}: "
            f"{run['messages_per_second']} msg/s, {run['cpu_ms_per_message']} ms "
            f"CPU/message, p50 {run['p50_ms']} ms / p95 {run['p95_ms']} ms, "
            f"{run['live_conversations_per_core']} live conversations per core at "
            f"one message per {args.seconds_per_message:g} s; wrong order or "
            f"lost: tickets {run['ticket_wrong']}, trackers {run['tracker_wrong']}"
        )
    print(
        f"CPU per message fast/full {result['cpu_ratio_fast_to_full']}, "
        f"throughput fast/full {result['throughput_ratio_fast_to_full']}"
    )


if __name__ == "__main__":
    main()

"""Handover latency: the customer's message -> the ticket visible to agents.

Real processes on loopback: the example bot served by `rasa run` with the
handover channel and the embedded inbox (SQLite), and the action server. An
agent listens on the inbox's event stream (`/api/events`, server-sent events).
For each of `--handovers` new customers, the clock starts when the customer's
"I want to talk to a human" is sent to the channel and stops when the agent's
stream shows the `requested` event of that conversation.

Baseline in the same run: the same number of plain messages ("hi") to new
customers, answered by the bot alone: Rasa's own per-message work (NLU,
policies, response). The difference is the plugin's own work (the action server
call, the context payload, the ticket, routing, the acknowledgement).

    .venv/bin/python benchmarks/bench_handover_latency.py [--handovers 100]
"""

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, List

import requests

# The real-process helpers of the end-to-end tests start the servers here too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.e2e.servers import (
    action_server,
    ensure_example_model,
    rasa_server,
)

RESULTS = Path(__file__).parent / "results"
TOKEN = "bench-token-0123456789abcdef0123456789"  # 32+ characters
INBOX_YML = f"""
agents:
  - name: Maya
    token: {TOKEN}
    teams: [general, billing, technical, sales, account, retention, compliance]
    languages: [en, de, es]
    capacity: 100000
housekeeping_seconds: 0
"""


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def listen(base: str, seen: Dict[str, float], stop: threading.Event) -> None:
    """Records when each conversation's `requested` event reaches the agent."""
    while not stop.is_set():
        try:
            with requests.get(
                f"{base}/webhooks/handover/inbox/api/events",
                headers={"Authorization": f"Bearer {TOKEN}"},
                stream=True,
                timeout=(5, 30),
            ) as stream:
                for line in stream.iter_lines(decode_unicode=True):
                    if stop.is_set():
                        return
                    if line and line.startswith("data:"):
                        event = json.loads(line[len("data:") :])
                        if event.get("type") == "requested":
                            conversation = event["data"].get("conversation_id")
                            seen.setdefault(conversation, time.perf_counter())
        except requests.RequestException:
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handovers", type=int, default=100)
    args = parser.parse_args()
    model = ensure_example_model()
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        (workdir / "inbox.yml").write_text(INBOX_YML)
        credentials = f"""
rasa_handover.channels.HandoverInput:
  db: sqlite:///{workdir}/handover.db
  outbox: {workdir}/outbox.db
  inbox_config: {workdir}/inbox.yml
"""
        with action_server() as action_url, rasa_server(
            workdir, model, credentials, action_url
        ) as base:
            requests.post(
                f"{base}/webhooks/handover/inbox/api/agents/me/availability",
                headers={"Authorization": f"Bearer {TOKEN}"},
                json={"online": True},
                timeout=10,
            ).raise_for_status()
            seen: Dict[str, float] = {}
            stop = threading.Event()
            listener = threading.Thread(
                target=listen, args=(base, seen, stop), daemon=True
            )
            listener.start()
            time.sleep(1)

            def send(sender: str, text: str) -> None:
                requests.post(
                    f"{base}/webhooks/handover/webhook",
                    json={"sender": sender, "message": text},
                    timeout=60,
                ).raise_for_status()

            send("warm-up", "I want to talk to a human")
            baseline: List[float] = []
            for _ in range(args.handovers):
                start = time.perf_counter()
                send(f"plain-{uuid.uuid4().hex}", "hi")
                baseline.append(time.perf_counter() - start)

            latencies: List[float] = []
            for _ in range(args.handovers):
                sender = f"bench-{uuid.uuid4().hex}"
                start = time.perf_counter()
                send(sender, "I want to talk to a human")
                deadline = time.time() + 30
                while sender not in seen and time.time() < deadline:
                    time.sleep(0.002)
                if sender in seen:
                    latencies.append(seen[sender] - start)
            stop.set()

    handover_p50 = statistics.median(latencies)
    rasa_p50 = statistics.median(baseline)
    result = {
        "benchmark": "handover_latency",
        "handovers": args.handovers,
        "visible_to_agent": len(latencies),
        "handover_p50_ms": round(handover_p50 * 1e3, 1),
        "handover_p95_ms": round(percentile(latencies, 0.95) * 1e3, 1),
        "baseline_plain_message_p50_ms": round(rasa_p50 * 1e3, 1),
        "baseline_plain_message_p95_ms": round(percentile(baseline, 0.95) * 1e3, 1),
        "plugin_share_of_p50": round(
            max(0.0, handover_p50 - rasa_p50) / handover_p50, 3
        ),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "handover_latency.json").write_text(json.dumps(result, indent=2))
    print(
        f"handover latency over {result['visible_to_agent']}/{args.handovers} "
        f"handovers: "
        f"p50 {result['handover_p50_ms']} ms / p95 {result['handover_p95_ms']} ms "
        f"(customer message -> agent's event stream); a plain bot reply p50 "
        f"{result['baseline_plain_message_p50_ms']} ms; plugin's own share of p50 "
        f"{result['plugin_share_of_p50']:.0%}"
    )


if __name__ == "__main__":
    main()

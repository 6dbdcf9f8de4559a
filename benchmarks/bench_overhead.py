"""What HandoverPolicy adds to the example bot's per-message latency.

One trained model (example_bot/models/example_bot.tar.gz, `make train`) is
loaded twice with `Agent.load`:

- `with`: as trained (NLU, Memoization, Rule, TED and Handover policies);
- `without`: the same trained components, with the HandoverPolicy node removed
  from the prediction graph (and from the ensemble's inputs). Nothing is
  retrained, so NLU and the other policies are bit-for-bit the same and the
  difference is the policy alone.

Every user turn of the labelled conversations (benchmarks/conversations/
support.yml) goes through `Agent.handle_text` on both agents, interleaved message
by message (which agent goes first alternates), so that load from other
processes hits both alike. No action server runs, as in `rasa-handover
evaluate`.

The headline ratio is over the messages on which both bots ran the same actions
(where the policy abstained, or the bot would have done the same); messages on
which the policy changed what the bot did (it handed over) take another path
(a failing custom action here) and are reported separately.

The difference of two noisy timings is itself noisy on a shared 2-core machine,
so the run also times HandoverPolicy's own `predict_action_probabilities` calls
inside the `with` agent (summed per message): a direct measure of what the
policy costs, next to the end-to-end ratio.

Prints a one-line summary and writes benchmarks/results/overhead.json.

    .venv/bin/python benchmarks/bench_overhead.py [--rounds 3]

Each round sends every turn once more, as new conversations, with the signal
caches cleared (so a repeated text costs what a new one would).
"""

import argparse
import asyncio
import dataclasses
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Tuple

from common import (
    EXAMPLE_MODEL,
    SUPPORT_CONVERSATIONS,
    latency_summary,
    write_result,
)

# The real-process helpers of the end-to-end tests start the action server here.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rasa_handover.signals import _detect_signals_cached, sentiment_score
from tests.e2e.servers import action_server

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The plugin's budget: what it may add to the bot's per-message latency.
TARGET_OVERHEAD = 0.05
HANDOVER_POLICY_CLASS = "HandoverPolicy"
WARM_UP_MESSAGES = ("hi", "where is my invoice", "thanks")


def without_handover_policy(model: Path, agent: Any) -> Any:
    """Replaces `agent`'s graph runner with one that lacks HandoverPolicy."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    with tempfile.TemporaryDirectory() as directory:
        storage, metadata = LocalModelStorage.from_model_archive(Path(directory), model)
        schema = metadata.predict_schema
        removed = {
            name
            for name, node in schema.nodes.items()
            if node.uses.__name__ == HANDOVER_POLICY_CLASS
        }
        if not removed:
            raise SystemExit(f"{model} has no HandoverPolicy node to remove.")
        nodes = {
            name: dataclasses.replace(
                node,
                needs={k: v for k, v in node.needs.items() if v not in removed},
            )
            for name, node in schema.nodes.items()
            if name not in removed
        }
        pruned = GraphSchema(nodes)
        # Components are loaded eagerly here, while the storage still exists.
        agent.processor.graph_runner = DaskGraphRunner.create(
            pruned, storage, ExecutionContext(pruned, metadata.model_id)
        )
    return agent


async def actions_of_last_turn(agent: Any, sender: str) -> Tuple[str, ...]:
    from rasa.shared.core.events import ActionExecuted, UserUttered

    tracker = await agent.tracker_store.retrieve(sender)
    events = list(tracker.events)
    last_user = max(i for i, e in enumerate(events) if isinstance(e, UserUttered))
    return tuple(
        e.action_name for e in events[last_user:] if isinstance(e, ActionExecuted)
    )


class PolicyTimer:
    """Times HandoverPolicy's predictions (installed on the class, undone after)."""

    def __init__(self) -> None:
        self.calls_ms: List[float] = []

    def __enter__(self) -> "PolicyTimer":
        from rasa_handover.policy import HandoverPolicy

        self._original = HandoverPolicy.predict_action_probabilities
        original, calls = self._original, self.calls_ms

        def timed(policy: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(policy, *args, **kwargs)
            finally:
                calls.append((time.perf_counter() - start) * 1000)

        HandoverPolicy.predict_action_probabilities = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: Any) -> None:
        from rasa_handover.policy import HandoverPolicy

        HandoverPolicy.predict_action_probabilities = self._original  # type: ignore[method-assign]


async def measure(
    agents: Dict[str, Any],
    conversations: List[List[str]],
    rounds: int,
    timer: PolicyTimer,
) -> Dict[str, Any]:
    policy_ms: List[float] = []
    samples: Dict[str, List[float]] = {name: [] for name in agents}
    same_path: Dict[str, List[float]] = {name: [] for name in agents}
    changed = 0
    order = list(agents)
    for name, agent in agents.items():
        sender = f"warm-{name}"
        for text in WARM_UP_MESSAGES:
            await agent.handle_text(text, sender_id=sender)
    flip = False
    for _ in range(rounds):
        # Every round sees the messages as new: a repeated text would otherwise
        # hit the signal caches (which real traffic rarely does).
        _detect_signals_cached.cache_clear()
        sentiment_score.cache_clear()
        for turns in conversations:
            senders = {name: f"{name}-{uuid.uuid4().hex[:8]}" for name in agents}
            for text in turns:
                flip = not flip
                elapsed: Dict[str, float] = {}
                for name in reversed(order) if flip else order:
                    calls = len(timer.calls_ms)
                    start = time.perf_counter()
                    await agents[name].handle_text(text, sender_id=senders[name])
                    elapsed[name] = (time.perf_counter() - start) * 1000
                    if name == "with":
                        policy_ms.append(sum(timer.calls_ms[calls:]))
                actions = {
                    name: await actions_of_last_turn(agents[name], senders[name])
                    for name in agents
                }
                same = len(set(actions.values())) == 1
                changed += not same
                for name, value in elapsed.items():
                    samples[name].append(value)
                    if same:
                        same_path[name].append(value)
    return {
        "all": samples,
        "same_path": same_path,
        "changed": changed,
        "policy_ms": policy_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=EXAMPLE_MODEL)
    parser.add_argument("--conversations", type=Path, default=SUPPORT_CONVERSATIONS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not args.model.exists():
        print(f"skipped: no model at {args.model}; run `make train` first.")
        return

    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    from rasa_handover.evaluation import load_conversations, rasa_output_to

    conversations = [
        [turn.text for turn in c.turns] for c in load_conversations(args.conversations)
    ]
    log_file = Path(tempfile.gettempdir()) / "rasa-handover-bench-overhead.log"
    started = time.perf_counter()
    # The timer goes in before loading: Rasa's graph keeps the bound method.
    # The bot as deployed: its own action server (the account lookup runs at
    # every session start, for both agents alike).
    with action_server() as action_url, rasa_output_to(
        log_file, logging.WARNING
    ), PolicyTimer() as timer:
        endpoint = EndpointConfig(action_url)
        agents = {
            "with": Agent.load(str(args.model), action_endpoint=endpoint),
            "without": without_handover_policy(
                args.model, Agent.load(str(args.model), action_endpoint=endpoint)
            ),
        }
        measured = asyncio.run(measure(agents, conversations, args.rounds, timer))

    result: Dict[str, Any] = {"benchmark": "handover_policy_overhead"}
    for subset in ("same_path", "all"):
        with_s, without_s = measured[subset]["with"], measured[subset]["without"]
        result[subset] = {
            "with_policy": latency_summary(with_s),
            "without_policy": latency_summary(without_s),
            "ratio_p50": round(
                statistics.median(with_s) / statistics.median(without_s), 3
            ),
            "ratio_mean": round(
                statistics.fmean(with_s) / statistics.fmean(without_s), 3
            ),
        }
    headline = result["same_path"]
    policy = latency_summary(measured["policy_ms"])
    policy_share = policy["p50_ms"] / headline["without_policy"]["p50_ms"]
    result.update(
        {
            "policy_predict_per_message": policy,
            "policy_predict_share_of_p50": round(policy_share, 4),
            "messages": len(measured["all"]["with"]),
            "messages_with_different_actions": measured["changed"],
            "target_overhead": TARGET_OVERHEAD,
            "within_target": headline["ratio_p50"] - 1 < TARGET_OVERHEAD,
            "seconds": round(time.perf_counter() - started, 1),
            "model": str(args.model),
            "conversations": str(args.conversations),
        }
    )
    path = write_result("overhead", result)
    overhead = (headline["ratio_p50"] - 1) * 100
    print(
        f"HandoverPolicy overhead per message (Agent.handle_text, "
        f"{headline['with_policy']['samples']} messages on the same path): p50 "
        f"{headline['with_policy']['p50_ms']} ms with vs "
        f"{headline['without_policy']['p50_ms']} ms without ({overhead:+.1f}%, "
        f"target < {TARGET_OVERHEAD:.0%}); p99 {headline['with_policy']['p99_ms']} "
        f"vs {headline['without_policy']['p99_ms']} ms; the policy's own "
        f"predictions: p50 {policy['p50_ms']} ms per message ({policy_share:.1%} "
        f"of the bot's p50); {measured['changed']} messages took another path "
        f"-> {path.name}",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()

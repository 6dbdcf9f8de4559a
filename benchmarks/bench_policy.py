"""How long HandoverPolicy takes to predict on a long conversation.

Builds a 100-turn tracker (user messages with NLU parse data, slot sets, bot
utterances) and times `HandoverPolicy.predict_action_probabilities` right after
the latest user message, which is when every trigger runs:

- `warm`: the same tracker again (signals of recent messages are cached, as they
  are for the 2nd..nth prediction of a turn in production);
- `cold`: a new, never-seen latest message each time (its signals are computed);
- baseline, in the same run: `tracker.applied_events()`, which Rasa's own
  Memoization/Rule/TED policies call on every prediction.

Prints a one-line summary and writes benchmarks/results/policy.json.

    .venv/bin/python benchmarks/bench_policy.py [--turns 100] [--runs 2000]
"""

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_handover import HandoverPolicy

RESULTS = Path(__file__).parent / "results"
DOMAIN_YAML = """
version: "3.1"
intents: [greet, ask_invoice, reset_password, ask_plans, human_handoff,
  request_refund: {regulated: true, regulated_when: {slot: refund_amount, above: 100}}]
entities: [amount]
slots:
  refund_amount: {type: float, mappings: [{type: custom}]}
  account_tier: {type: text, mappings: [{type: custom}]}
  handover_active: {type: bool, initial_value: false, mappings: [{type: custom}]}
  handover_reason: {type: text, mappings: [{type: custom}]}
  handover_evidence: {type: any, mappings: [{type: custom}]}
  handover_turn: {type: float, mappings: [{type: custom}]}
  handover_offered: {type: bool, initial_value: false, mappings: [{type: custom}]}
actions: [action_handover, action_offer_handover, action_handback]
responses:
  utter_answer: [{text: "Here is what I found."}]
"""
MESSAGES = [
    ("hi there", "greet"),
    ("where can I download my invoice for march", "ask_invoice"),
    ("what plans do you have", "ask_plans"),
    ("how do I change my password again", "reset_password"),
]


def user(text: str, intent: str) -> List[Event]:
    ranking = [
        {"name": intent, "confidence": 0.91},
        {"name": "ask_plans" if intent != "ask_plans" else "greet", "confidence": 0.05},
    ]
    return [
        ActionExecuted("action_listen"),
        UserUttered(
            text,
            {"name": intent, "confidence": 0.91},
            parse_data={"intent_ranking": ranking},
        ),
    ]


def long_tracker(domain: Domain, turns: int, latest: str) -> DialogueStateTracker:
    events: List[Event] = []
    for i in range(turns - 1):
        text, intent = MESSAGES[i % len(MESSAGES)]
        events += user(f"{text} ({i})", intent)
        events += [
            SlotSet("account_tier", "standard"),
            ActionExecuted("utter_answer"),
            BotUttered("Here is what I found."),
        ]
    events += user(latest, "ask_invoice")
    return DialogueStateTracker.from_events("bench", events, domain.slots)


def timings(function: Callable[[], object], runs: int) -> List[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def summary(samples: List[float]) -> Dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_us": round(statistics.median(ordered), 1),
        "p99_us": round(ordered[int(len(ordered) * 0.99) - 1], 1),
        "mean_us": round(statistics.fmean(ordered), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()

    domain = Domain.from_yaml(DOMAIN_YAML)
    with tempfile.TemporaryDirectory() as directory:
        policy = HandoverPolicy.create(
            HandoverPolicy.get_default_config(),
            LocalModelStorage(Path(directory)),
            Resource("handover"),
            ExecutionContext(GraphSchema({}), "bench"),
        )
        policy.train([], domain)

    tracker = long_tracker(domain, args.turns, "where is my invoice please")
    policy.predict_action_probabilities(tracker, domain)  # build spaCy/VADER once

    warm = timings(
        lambda: policy.predict_action_probabilities(tracker, domain), args.runs
    )
    cold_trackers = [
        long_tracker(domain, args.turns, f"where is invoice number {n} please")
        for n in range(args.runs)
    ]
    iterator = iter(cold_trackers)
    cold = timings(
        lambda: policy.predict_action_probabilities(next(iterator), domain), args.runs
    )
    baseline = timings(tracker.applied_events, args.runs)

    result = {
        "benchmark": "policy_prediction",
        "turns": args.turns,
        "events": len(tracker.events),
        "runs": args.runs,
        "handover_warm": summary(warm),
        "handover_cold": summary(cold),
        "baseline_applied_events": summary(baseline),
        "ratio_warm_to_baseline_p50": round(
            statistics.median(warm) / statistics.median(baseline), 2
        ),
        "ratio_cold_to_baseline_p50": round(
            statistics.median(cold) / statistics.median(baseline), 2
        ),
        "machine": f"{platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "policy.json").write_text(json.dumps(result, indent=2))
    print(
        f"policy prediction on a {args.turns}-turn tracker ({len(tracker.events)} "
        f"events): warm p50 {result['handover_warm']['p50_us']} us / p99 "
        f"{result['handover_warm']['p99_us']} us; cold p50 "
        f"{result['handover_cold']['p50_us']} us / p99 "
        f"{result['handover_cold']['p99_us']} us; Rasa's applied_events() p50 "
        f"{result['baseline_applied_events']['p50_us']} us (warm/baseline "
        f"{result['ratio_warm_to_baseline_p50']}x)"
    )


if __name__ == "__main__":
    main()

"""The confidence floor on CLINC150: out-of-scope caught vs in-scope escalated.

Reads CLINC150 in place (../shared/datasets/clinc150/data_full.json) and trains
the example bot's NLU pipeline (the `pipeline` of example_bot/config.yml:
LogisticRegressionClassifier on word + char n-gram counts) on the training
split of 30 in-scope intents: CLINC's `banking` and `credit_cards` domains, as
listed in the dataset's own data/domains.json (clinc/oos-eval, commit 828f809,
the commit the shared copy comes from). The model is trained once and cached
(`rasa_handover.evaluation.train_cached`, ~/.cache/rasa-handover).

Every query of the test splits is parsed by that model (`Agent.parse_message`):
- in scope: the test queries of the 30 intents (a flag here is a false
  escalation);
- `oos_test`: CLINC's out-of-scope queries (a flag here is a catch);
- other domains: test queries of the 120 other intents (travel, kitchen, ...),
  also out of scope for a banking bot, but closer to real traffic.

Two rules flag a query, over a sweep of floors with ambiguity 0.1:
- HandoverPolicy: `rasa_handover.triggers.check_low_confidence` itself, on a
  one-turn conversation built from NLU's ranking (floor + ambiguity);
- FallbackClassifier: Rasa's component itself (`process` on the parsed message),
  same threshold and ambiguity threshold.
Plus HandoverPolicy with the ambiguity check off (floor only).

Prints a one-line summary (at the default floor, 0.55) and writes
benchmarks/results/clinc_floor.json and clinc_floor_sweep.png (if matplotlib).

    .venv/bin/python benchmarks/bench_clinc_floor.py
"""

import asyncio
import copy
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml
from common import EXAMPLE_BOT, RESULTS, dataset, write_result

from rasa_handover.conversation import IntentScore, UserTurn, view_from_turns
from rasa_handover.settings import parse_settings
from rasa_handover.triggers import check_low_confidence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# CLINC150 data/domains.json (clinc/oos-eval @ 828f8093): the two in-scope domains.
BANKING = (
    "freeze_account", "routing", "pin_change", "bill_due", "pay_bill",
    "account_blocked", "interest_rate", "min_payment", "bill_balance", "transfer",
    "order_checks", "balance", "spending_history", "transactions", "report_fraud",
)  # fmt: skip
CREDIT_CARDS = (
    "replacement_card_duration", "expiration_date", "damaged_card",
    "improve_credit_score", "report_lost_card", "card_declined",
    "credit_limit_change", "apr", "redeem_rewards", "credit_limit",
    "rewards_balance", "application_status", "credit_score", "new_card",
    "international_fees",
)  # fmt: skip
IN_SCOPE = frozenset(BANKING + CREDIT_CARDS)
DEFAULT_FLOOR = 0.55
AMBIGUITY = 0.1
FLOORS = tuple(round(0.05 * step, 2) for step in range(1, 20))
HANDOVER = "handover_policy"
HANDOVER_FLOOR_ONLY = "handover_policy_floor_only"
FALLBACK = "fallback_classifier"
SETS = ("in_scope", "oos_test", "other_domains")
PLOT_FILE = "clinc_floor_sweep.png"


def nlu_yaml(train: List[Tuple[str, str]]) -> str:
    by_intent: Dict[str, List[str]] = {}
    for text, intent in train:
        if intent in IN_SCOPE:
            # Brackets would read as entity annotations in Rasa's format.
            clean = text.replace("[", "(").replace("]", ")")
            by_intent.setdefault(intent, []).append(clean)
    nlu = [
        {"intent": intent, "examples": "".join(f"- {t}\n" for t in texts)}
        for intent, texts in sorted(by_intent.items())
    ]
    return yaml.safe_dump({"version": "3.1", "nlu": nlu}, sort_keys=False)


def nlu_config() -> Dict[str, Any]:
    bot = yaml.safe_load((EXAMPLE_BOT / "config.yml").read_text(encoding="utf-8"))
    return {
        "recipe": "default.v1",
        "assistant_id": "clinc_banking_benchmark",
        "language": "en",
        "pipeline": bot["pipeline"],
    }


async def parse_all(model: Path, texts: List[str]) -> List[Dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def handover_flags(
    parses: List[Dict[str, Any]], floor: float, ambiguity: float
) -> List[bool]:
    settings = parse_settings(
        {"confidence_floor": floor, "ambiguity_threshold": ambiguity}
    )
    flags = []
    for parse in parses:
        ranking = tuple(
            IntentScore(r["name"], float(r["confidence"]))
            for r in parse.get("intent_ranking") or []
        )
        turn = UserTurn(
            index=1,
            text=parse.get("text", ""),
            intent=parse["intent"]["name"],
            confidence=parse["intent"]["confidence"],
            ranking=ranking,
        )
        flags.append(
            check_low_confidence(view_from_turns([turn]), settings) is not None
        )
    return flags


def _turn(parse: Dict[str, Any], index: int, previous: Optional[str]) -> UserTurn:
    ranking = tuple(
        IntentScore(r["name"], float(r["confidence"]))
        for r in parse.get("intent_ranking") or []
    )
    return UserTurn(
        index=index,
        text=parse.get("text", ""),
        intent=parse["intent"]["name"],
        confidence=parse["intent"]["confidence"],
        ranking=ranking,
        previous_action=previous,
    )


def clarify_rates(parses: List[Dict[str, Any]]) -> Dict[str, float]:
    """With the default settings (clarify first): what one and two turns lead to.

    Each query is a first turn; its follow-up is the next query of the same
    group (a customer who stays in scope, or stays out of scope, after the
    clarifying question). Returns the shares clarified on the first turn,
    handed over on the first turn, and handed over by the second.
    """
    settings = parse_settings({})
    first = []
    for parse in parses:
        decision = check_low_confidence(
            view_from_turns([_turn(parse, 1, None)]), settings
        )
        first.append(None if decision is None else decision.action)
    by_second = []
    for i, parse in enumerate(parses):
        follow_up = parses[(i + 1) % len(parses)]
        previous = first[i] if first[i] == settings.clarify_action else "utter_answer"
        turns = [_turn(parse, 1, None), _turn(follow_up, 2, previous)]
        decision = check_low_confidence(view_from_turns(turns), settings)
        handed = first[i] == settings.handover_action or (
            decision is not None and decision.action == settings.handover_action
        )
        by_second.append(handed)
    n = len(parses)
    return {
        "clarified_first_turn": round(
            sum(a == settings.clarify_action for a in first) / n, 4
        ),
        "handed_over_first_turn": round(
            sum(a == settings.handover_action for a in first) / n, 4
        ),
        "handed_over_by_second_turn": round(sum(by_second) / n, 4),
    }


def fallback_flags(
    parses: List[Dict[str, Any]], floor: float, ambiguity: float
) -> List[bool]:
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
    from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
    from rasa.shared.nlu.training_data.message import Message

    classifier = FallbackClassifier(
        {"threshold": floor, "ambiguity_threshold": ambiguity}
    )
    messages = [Message(data=copy.deepcopy(p)) for p in parses]
    classifier.process(messages)
    return [
        m.data["intent"]["name"] == DEFAULT_NLU_FALLBACK_INTENT_NAME for m in messages
    ]


def rates(flags: List[bool], groups: Dict[str, slice]) -> Dict[str, float]:
    return {
        name: round(sum(flags[part]) / len(flags[part]), 4)
        for name, part in groups.items()
    }


def plot(sweep: Dict[str, Dict[str, Dict[str, float]]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axis = plt.subplots(figsize=(7, 4.5))
    floors = [float(f) for f in sweep]
    styles = {HANDOVER: "-", FALLBACK: ":", HANDOVER_FLOOR_ONLY: "--"}
    colours = {
        "oos_test": "tab:green",
        "other_domains": "tab:blue",
        "in_scope": "tab:red",
    }
    labels = {
        "oos_test": "out-of-scope caught (oos_test)",
        "other_domains": "other CLINC domains caught",
        "in_scope": "in-scope wrongly escalated",
    }
    names = {
        HANDOVER: "HandoverPolicy",
        FALLBACK: "FallbackClassifier",
        HANDOVER_FLOOR_ONLY: "floor only",
    }
    for rule, style in styles.items():
        for group in SETS:
            axis.plot(
                floors,
                [sweep[f][rule][group] for f in sweep],
                style,
                color=colours[group],
                label=f"{labels[group]}, {names[rule]}",
                linewidth=1.2 if rule != HANDOVER else 2,
            )
    axis.axvline(DEFAULT_FLOOR, color="grey", linewidth=0.8)
    axis.set_xlabel("confidence floor (ambiguity threshold 0.1)")
    axis.set_ylabel("share of queries escalated")
    axis.set_title("CLINC150, banking + credit_cards in scope (example bot NLU)")
    axis.legend(fontsize=6.5, loc="upper left")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return True


def main() -> None:
    started = time.perf_counter()
    path = dataset("clinc150", "data_full.json")
    if path is None:
        return
    from rasa_handover.evaluation import default_cache_dir, rasa_output_to, train_cached

    data = json.loads(path.read_text(encoding="utf-8"))
    log_file = Path(tempfile.gettempdir()) / "rasa-handover-bench-clinc.log"
    with rasa_output_to(log_file, logging.WARNING):
        model = train_cached(
            nlu_config(),
            default_cache_dir(),
            label="clinc-banking-nlu",
            extra_files={"nlu.yml": nlu_yaml(data["train"])},
            nlu_only=True,
        )
        trained = time.perf_counter()
        in_scope = [t for t, i in data["test"] if i in IN_SCOPE]
        in_scope_gold = [i for t, i in data["test"] if i in IN_SCOPE]
        other = [t for t, i in data["test"] if i not in IN_SCOPE]
        oos = [t for t, _ in data["oos_test"]]
        texts = in_scope + oos + other
        parses = asyncio.run(parse_all(model, texts))
    groups = {
        "in_scope": slice(0, len(in_scope)),
        "oos_test": slice(len(in_scope), len(in_scope) + len(oos)),
        "other_domains": slice(len(in_scope) + len(oos), len(texts)),
    }
    accuracy = sum(
        p["intent"]["name"] == gold for p, gold in zip(parses, in_scope_gold)
    ) / len(in_scope)

    sweep: Dict[str, Dict[str, Dict[str, float]]] = {}
    disagreements = 0
    for floor in sorted({*FLOORS, DEFAULT_FLOOR}):
        handover = handover_flags(parses, floor, AMBIGUITY)
        fallback = fallback_flags(parses, floor, AMBIGUITY)
        disagreements += sum(a != b for a, b in zip(handover, fallback))
        sweep[f"{floor:.2f}"] = {
            HANDOVER: rates(handover, groups),
            FALLBACK: rates(fallback, groups),
            HANDOVER_FLOOR_ONLY: rates(handover_flags(parses, floor, 0.0), groups),
        }
    at_default = sweep[f"{DEFAULT_FLOOR:.2f}"]
    two_turns = {name: clarify_rates(parses[part]) for name, part in groups.items()}
    plotted = plot(sweep, RESULTS / PLOT_FILE)
    result = {
        "benchmark": "confidence_floor_clinc150",
        "source": str(path),
        "in_scope_intents": sorted(IN_SCOPE),
        "train_examples": sum(1 for _, i in data["train"] if i in IN_SCOPE),
        "queries": {name: part.stop - part.start for name, part in groups.items()},
        "in_scope_top1_accuracy": round(accuracy, 4),
        "ambiguity_threshold": AMBIGUITY,
        "at_default_floor": at_default,
        "clarify_first_two_turns": two_turns,
        "sweep": sweep,
        "handover_vs_fallback_disagreements": disagreements,
        "plot": str(RESULTS / PLOT_FILE) if plotted else None,
        "model": str(model),
        "seconds": {
            "train_or_cache": round(trained - started, 1),
            "total": round(time.perf_counter() - started, 1),
        },
    }
    out = write_result("clinc_floor", result)
    hp, fc = at_default[HANDOVER], at_default[FALLBACK]
    print(
        f"CLINC150 banking+credit_cards (example bot NLU, in-scope top-1 "
        f"{accuracy:.1%}), floor {DEFAULT_FLOOR} / ambiguity {AMBIGUITY}: "
        f"HandoverPolicy catches {hp['oos_test']:.1%} of oos_test and "
        f"{hp['other_domains']:.1%} of other domains, escalates "
        f"{hp['in_scope']:.1%} of in-scope; FallbackClassifier "
        f"{fc['oos_test']:.1%} / {fc['other_domains']:.1%} / {fc['in_scope']:.1%} "
        f"({disagreements} disagreements over the sweep) -> {out.name}"
    )
    for name, shares in two_turns.items():
        print(
            f"  clarify first, {name}: clarified on turn 1 "
            f"{shares['clarified_first_turn']:.1%}, handed over on turn 1 "
            f"{shares['handed_over_first_turn']:.1%}, handed over by turn 2 "
            f"{shares['handed_over_by_second_turn']:.1%}"
        )


if __name__ == "__main__":
    main()

"""The feedback loop on the labelled support set: one `tune --write`, before and after.

Plays benchmarks/conversations/support.yml as if agents had labelled every
handover by the set's gold label, and measures what one round of the loop
changes:

1. A copy of example_bot/config.yml with HandoverPolicy's `tuning_file:` set to
   a file of this run (empty: `intents: {}`), and the example bot trained once
   with it (cached). The policy reads the tuning file again when the model is
   *loaded* (`HandoverPolicy.load`, `_current_tuning`); at training it only
   keeps a copy as the fallback. So the model is trained once, and a tuning
   file written later takes effect at the next load, without retraining: that
   is what step 5 relies on. (The example bot's own model is trained with
   `tuning_file: null`, so it cannot be pointed at a file without retraining.)
2. `rasa-handover evaluate --out` with that model and the example bot's action
   server: the figures *before*, and every conversation's turns (text, intent,
   confidence, actions) with the predicted handover and its evidence.
3. Every predicted handover is stored in a fresh inbox database (SQLite) the
   way the channel stores it: the context payload built by the plugin's own
   builder (`build_payload`, from the conversation's events and the policy's
   decision slots), the ticket opened by `InboxService.request_handover` with
   the fields the channel reads from the payload, claimed and resolved by an
   agent with the gold label:
   - the gold has no handover (`escalate: never`, an offer or a clarifying
     question only) -> `escalation_not_needed`;
   - the gold hands over earlier than the prediction -> `should_have_come_earlier`;
   - the gold hands over at the predicted turn or later -> `escalation_needed`
     (a person was needed; a handover earlier than gold is still one).
4. `rasa-handover tune` (dry run), `rasa-handover replay`, then
   `rasa-handover tune --write` into the run's tuning file.
5. `rasa-handover evaluate` again with the same model: the figures *after*.

Prints the false escalation rate (gold `never` conversations handed over)
before, after, and as `replay` predicted it (the stored handovers of `never`
conversations that the proposed file no longer hands over). The outputs of
each step go to benchmarks/results/feedback_loop/, the figures to
benchmarks/results/feedback_loop.json.

    .venv/bin/python benchmarks/bench_feedback_loop.py
"""

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from common import (
    EXAMPLE_BOT,
    EXAMPLE_MODEL,
    RESULTS,
    SUPPORT_CONVERSATIONS,
    write_result,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rasa_handover.cli import main as cli
from rasa_handover.constants import (
    SLOT_HANDOVER_EVIDENCE,
    SLOT_HANDOVER_REASON,
    SLOT_HANDOVER_TURN,
)
from rasa_handover.evaluation.baseline import (
    default_cache_dir,
    read_config,
    train_cached,
)
from rasa_handover.evaluation.conversations import (
    LabelledConversation,
    load_conversations,
)
from rasa_handover.evaluation.report import SYSTEM_HANDOVER
from rasa_handover.feedback.handovers import handovers_from
from rasa_handover.feedback.replay import LOST, Setup, compare
from rasa_handover.feedback.replay_command import add_arguments as replay_arguments
from rasa_handover.feedback.tune_command import Inputs, read_inputs, tune
from rasa_handover.inbox.models import (
    OUTCOME_NEEDED,
    OUTCOME_NOT_NEEDED,
    OUTCOME_TOO_LATE,
)
from rasa_handover.inbox.service import InboxService
from rasa_handover.inbox.store import InboxStore
from rasa_handover.payload.build import build_payload
from tests.e2e.servers import action_server

WORK = RESULTS / "feedback_loop"
TUNING = WORK / "handover_tuning.yml"
EMPTY_TUNING = "version: 1\nintents: {}\n"
AGENT = "gold-labeller"
CHANNEL = "rest"


def main() -> None:
    if not EXAMPLE_MODEL.exists():
        print(f"skipped: no model at {EXAMPLE_MODEL}; run `make train` first.")
        return
    WORK.mkdir(parents=True, exist_ok=True)
    TUNING.write_text(EMPTY_TUNING, encoding="utf-8")
    config = WORK / "config.yml"
    started = time.perf_counter()
    model = trained_model(config)
    conversations = load_conversations(SUPPORT_CONVERSATIONS)
    db_file = WORK / "inbox.db"
    db_file.unlink(missing_ok=True)
    db = f"sqlite:///{db_file}"
    common = [
        "--db",
        db,
        "--config",
        str(config),
        "--domain",
        str(EXAMPLE_BOT / "domain"),
    ]
    common += ["--tuning-file", str(TUNING)]
    with action_server() as action_url:
        endpoints = WORK / "endpoints.yml"
        endpoints.write_text(f"action_endpoint:\n  url: {action_url}\n")
        before = evaluate(model, config, endpoints, "before")
        labels = asyncio.run(store_handovers(db, before, conversations))
        run_cli(["tune", *common], "tune_dry_run")
        run_cli(["replay", *common], "replay")
        predicted = replay_prediction(common, before)
        run_cli(["tune", *common, "--write"], "tune_write")
        after = evaluate(model, config, endpoints, "after")
    figures = {
        "conversations": len(conversations),
        "labels": labels,
        "false_escalation_rate": {
            "before": rate(before),
            "after": rate(after),
            "replay_predicted": predicted,
        },
        "false_escalations": {
            "before": metrics(before)["false_escalations"],
            "after": metrics(after)["false_escalations"],
        },
        "accuracy_exact": {
            "before": metrics(before)["accuracy_exact"],
            "after": metrics(after)["accuracy_exact"],
        },
        "tuning_file": TUNING.read_text(encoding="utf-8"),
        "seconds": round(time.perf_counter() - started),
    }
    path = write_result("feedback_loop", figures)
    fe = figures["false_escalation_rate"]
    print(
        f"{SUPPORT_CONVERSATIONS.name}: labels {labels}; false escalation rate "
        f"{fe['before']:.1%} before, {fe['after']:.1%} after one `tune --write` "
        f"(replay predicted {predicted['rate']:.1%}: {predicted['fixed']} of "
        f"{predicted['stored']} stored false escalations fixed); exact accuracy "
        f"{figures['accuracy_exact']['before']:.2f} -> "
        f"{figures['accuracy_exact']['after']:.2f} -> {path.name}, {WORK.name}/"
    )


def trained_model(config: Path) -> Path:
    """The example bot trained with `tuning_file:` pointing at this run's file."""
    settings = read_config(EXAMPLE_BOT / "config.yml")
    for policy in settings["policies"]:
        if str(policy.get("name", "")).endswith("HandoverPolicy"):
            policy["tuning_file"] = str(TUNING.resolve())
    config.write_text(json.dumps(settings, indent=2), encoding="utf-8")
    print("Training (or reusing) the example bot with a tuning file ...")
    return train_cached(
        settings,
        default_cache_dir(),
        label="feedback-loop",
        training_files=[EXAMPLE_BOT / "data"],
        domain=EXAMPLE_BOT / "domain",
    )


def evaluate(model: Path, config: Path, endpoints: Path, name: str) -> Dict[str, Any]:
    """`rasa-handover evaluate --out`; returns its JSON document."""
    out = WORK / f"evaluate_{name}.json"
    run_cli(
        [
            "evaluate",
            str(SUPPORT_CONVERSATIONS),
            "--model",
            str(model),
            "--project",
            str(EXAMPLE_BOT),
            "--config",
            str(config),
            "--endpoints",
            str(endpoints),
            "--out",
            str(out),
            "--no-progress",
        ],
        f"evaluate_{name}",
    )
    return dict(json.loads(out.read_text(encoding="utf-8")))


def run_cli(arguments: List[str], name: str) -> None:
    """Runs `rasa-handover <arguments>`, its output to WORK/<name>.txt."""
    report = WORK / f"{name}.txt"
    with open(report, "w", encoding="utf-8") as text, contextlib.redirect_stdout(text):
        code = cli(arguments)
    if code != 0:
        print(report.read_text(encoding="utf-8"))
        sys.exit(code)


def gold_label(gold: Mapping[str, Any], predicted_turn: int) -> str:
    """The label an agent would give a handover at `predicted_turn` (see the docs)."""
    gold_turn = gold.get("escalate_at")
    if gold_turn is None:
        return OUTCOME_NOT_NEEDED
    if gold_turn < predicted_turn:
        return OUTCOME_TOO_LATE
    return OUTCOME_NEEDED


def events_of(
    result: Mapping[str, Any], conversation: LabelledConversation
) -> List[Dict[str, Any]]:
    """Rasa's serialised events of the evaluated turns, as the tracker had them."""
    events: List[Dict[str, Any]] = []
    clock = time.time() - 3600
    for number, (turn, labelled) in enumerate(
        zip(result["turns"], conversation.turns), start=1
    ):
        for name, value in labelled.slots.items():
            events.append({"event": "slot", "name": name, "value": value})
        clock += 30
        intent = {"name": turn["intent"], "confidence": turn["confidence"]}
        events.append(
            {
                "event": "user",
                "timestamp": clock,
                "text": turn["text"],
                "input_channel": CHANNEL,
                "parse_data": {"intent": intent, "entities": [], "text": turn["text"]},
            }
        )
        for name, policy in turn["actions"]:
            events.append(
                {"event": "action", "name": name, "policy": policy, "timestamp": clock}
            )
        if number == result["predicted"]["escalate_at"]:
            break
    return events


async def store_handovers(
    db: str, document: Mapping[str, Any], conversations: Sequence[LabelledConversation]
) -> Dict[str, int]:
    """Stores every predicted handover, resolved with its gold label; counts them."""
    by_id = {conversation.id: conversation for conversation in conversations}
    store = InboxStore(db)
    await store.create_all()
    # The ticket as the channel's handover request opens it (the service reads
    # the payload's fields); the labeller is offline, so each one waits.
    service = InboxService(store)
    await store.upsert_agent(AGENT, "Gold", "gold-labeller-token-0123456789")
    labels: Dict[str, int] = {}
    for detail in document["details"]:
        result = detail[SYSTEM_HANDOVER]
        turn = result["predicted"]["escalate_at"]
        if turn is None:
            continue
        conversation = by_id[detail["id"]]
        slots: Dict[str, Any] = {}
        for labelled in conversation.turns[:turn]:
            slots.update(labelled.slots)
        slots[SLOT_HANDOVER_REASON] = result["predicted"]["reason"]
        slots[SLOT_HANDOVER_EVIDENCE] = result["evidence"]
        slots[SLOT_HANDOVER_TURN] = turn
        payload = build_payload(
            detail["id"],
            events_of(result, conversation),
            slots,
            channel=CHANNEL,
            attempt=1,
        )
        view = await service.request_handover(detail["id"], 1, payload)
        label = gold_label(detail["gold"], turn)
        await store.claim(view.ticket_id, AGENT)
        await store.resolve(view.ticket_id, AGENT, label)
        labels[label] = labels.get(label, 0) + 1
    await store.close()
    return labels


def replay_prediction(common: List[str], before: Mapping[str, Any]) -> Dict[str, Any]:
    """The false escalation rate `replay` predicts for `tune`'s proposal.

    The stored handovers of gold `never` conversations that the proposal no
    longer hands over are counted as fixed. A replay cannot see conversations
    that were never handed over (not in the inbox): it cannot predict new
    false escalations there.
    """
    parser = argparse.ArgumentParser()
    replay_arguments(parser)
    inputs = read_inputs(parser.parse_args(common), "replay")
    assert isinstance(inputs, Inputs), "replay's inputs could not be read"
    _, proposed = tune(
        inputs.records,
        inputs.settings,
        inputs.declarations,
        inputs.existing,
        inputs.rules,
    )
    current = Setup.build(
        inputs.settings,
        inputs.declarations,
        inputs.existing.thresholds() if inputs.existing else None,
    )
    after = Setup.build(inputs.settings, inputs.declarations, proposed.thresholds())
    lost = {
        change.handover.conversation_id
        for change in compare(handovers_from(inputs.records), current, after)
        if change.kind == LOST
    }
    never = never_ids(before)
    false_ids = {
        d["id"]
        for d in before["details"]
        if d["id"] in never
        and d[SYSTEM_HANDOVER]["predicted"]["escalate_at"] is not None
    }
    fixed = len(false_ids & lost)
    return {
        "stored": len(false_ids),
        "fixed": fixed,
        "rate": round((len(false_ids) - fixed) / len(never), 4) if never else None,
    }


def never_ids(document: Mapping[str, Any]) -> set:
    """The conversations whose gold needs no person (as `evaluate` counts them)."""
    return {
        d["id"]
        for d in document["details"]
        if d["gold"]["escalate_at"] is None
        # A clarification alone: whether a person is needed is not known.
        and not (d["gold"]["clarify_at"] is not None and d["gold"]["offer_at"] is None)
    }


def metrics(document: Mapping[str, Any]) -> Dict[str, Any]:
    return dict(document["systems"][SYSTEM_HANDOVER]["metrics"])


def rate(document: Mapping[str, Any]) -> Optional[float]:
    value = metrics(document)["false_escalation_rate"]
    return None if value is None else float(value)


if __name__ == "__main__":
    main()

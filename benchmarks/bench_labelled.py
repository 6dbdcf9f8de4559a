"""HandoverPolicy vs Rasa's FallbackClassifier + rules on the labelled support sets.

Runs `rasa-handover evaluate` with the example bot's model and `--baseline` (the
baseline model is trained once from example_bot/ and cached) on each set,
reported apart: benchmarks/conversations/support.yml (written with the code),
support_heldout.yml (written apart from the code, after its design; see
benchmarks/data/README.md) and support_third.yml (written after the third
session's changes were designed, before any run on them). Full reports go to
benchmarks/results/evaluate*.txt, everything else to evaluate*.json; this
prints one line per set.

    .venv/bin/python benchmarks/bench_labelled.py
"""

import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

from common import EXAMPLE_BOT, EXAMPLE_MODEL, RESULTS, SUPPORT_CONVERSATIONS

# The real-process helpers of the end-to-end tests start the action server here.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rasa_handover.cli import main as cli
from tests.e2e.servers import action_server

# Reported apart: written with the code, and written apart from it.
SETS = {
    "": SUPPORT_CONVERSATIONS,
    "_heldout": SUPPORT_CONVERSATIONS.parent / "support_heldout.yml",
    # Written after issue 9's third session designed its changes, before any run.
    "_third": SUPPORT_CONVERSATIONS.parent / "support_third.yml",
}


def main() -> None:
    if not EXAMPLE_MODEL.exists():
        print(f"skipped: no model at {EXAMPLE_MODEL}; run `make train` first.")
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    # The bot as deployed: its own action server (the plugin's actions and the
    # example's account lookup at session start).
    with action_server() as action_url, tempfile.TemporaryDirectory() as directory:
        endpoints = Path(directory) / "endpoints.yml"
        endpoints.write_text(f"action_endpoint:\n  url: {action_url}\n")
        for suffix, conversations in SETS.items():
            evaluate_set(conversations, suffix, endpoints)


def evaluate_set(conversations: Path, suffix: str, endpoints: Path) -> None:
    """Evaluates one labelled set; prints one line, writes the report and JSON."""
    out = RESULTS / f"evaluate{suffix}.json"
    report = RESULTS / f"evaluate{suffix}.txt"
    started = time.perf_counter()
    with open(report, "w", encoding="utf-8") as text, contextlib.redirect_stdout(text):
        code = cli(
            [
                "evaluate",
                str(conversations),
                "--model",
                str(EXAMPLE_MODEL),
                "--project",
                str(EXAMPLE_BOT),
                "--endpoints",
                str(endpoints),
                "--baseline",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
    if code != 0:
        print(report.read_text(encoding="utf-8"))
        sys.exit(code)
    data = json.loads(out.read_text(encoding="utf-8"))
    figures = []
    for system in data["systems"].values():
        m = system["metrics"]
        figures.append(
            f"{system['title']}: exact {m['accuracy_exact']:.2f}, +1 turn "
            f"{m['accuracy_within_one_turn']:.2f}, with reason "
            f"{m['accuracy_exact_with_reason']:.2f}, false escalations "
            f"{m['false_escalation_rate']:.1%}, macro F1 {m['macro_f1']:.2f}"
        )
    print(
        f"{conversations.name} ({data['conversations']} conversations, "
        f"{time.perf_counter() - started:.0f} s): " + "; ".join(figures) + f" -> "
        f"{out.name}, {report.name}"
    )


if __name__ == "__main__":
    main()

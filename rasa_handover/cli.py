"""`rasa-handover`: the plugin's command line.

    rasa-handover inbox --config inbox.yml --db postgresql://... --port 5010
    rasa-handover evaluate conversations.yml --model models/bot.tar.gz --baseline
    rasa-handover calibrate --config config.yml --nlu data/
    rasa-handover tune --db sqlite:///handover.db --write
    rasa-handover replay --db sqlite:///handover.db
    rasa-handover report --db sqlite:///handover.db
    rasa-handover init --dry-run
    rasa-handover check
    rasa-handover sender-token dana --expires-in 3600

Each subcommand's module has `add_arguments(parser)` and `run(args) -> int`;
they are listed once, in `COMMANDS`.
"""

import argparse
import importlib
import logging
import sys
from typing import List, Optional

from rasa_handover.__version__ import __version__

# name -> (module with add_arguments/run, help); modules are imported on use.
COMMANDS = {
    "init": (
        "rasa_handover.setup_bot",
        "add rasa-handover to the bot in this folder (--dry-run shows the diff)",
    ),
    "check": (
        "rasa_handover.check",
        "which of the bot's test stories the plugin changes, and what the "
        "handover configuration lacks",
    ),
    "calibrate": (
        "rasa_handover.calibrate",
        "per-intent confidence floors from cross-validating the bot's NLU "
        "(writes the tuning file)",
    ),
    "tune": (
        "rasa_handover.feedback.tune_command",
        "per-intent floors from agents' outcome labels in the inbox database "
        "(prints the diff; --write writes the tuning file)",
    ),
    "replay": (
        "rasa_handover.feedback.replay_command",
        "replay the stored handovers with the current and a proposed tuning "
        "file: handovers gained and lost, labels fixed and broken",
    ),
    "export": (
        "rasa_handover.feedback.export_command",
        "intents agents corrected, as Rasa NLU examples "
        "(data/handover_feedback_nlu.yml), and labelled handovers as test "
        "stories (tests/handover_feedback_stories.yml)",
    ),
    "report": (
        "rasa_handover.feedback.report_command",
        "the handovers in figures: rate, precision per trigger, late ones, "
        "pickup and resolution times, CSAT, agents' load (HTML, JSON, summary)",
    ),
    "evaluate": (
        "rasa_handover.evaluation",
        "measure when and why a trained bot hands over, on labelled "
        "conversations (optionally against Rasa's FallbackClassifier + rules)",
    ),
    "inbox": (
        "rasa_handover.inbox.cli",
        "run the inbox service on its own (for several replicas)",
    ),
    "sender-token": (
        "rasa_handover.channels.sender_token_command",
        "a REST customer's sender token, with the customer_secret from "
        "$HANDOVER_CUSTOMER_SECRET (for trying the REST routes out)",
    ),
}


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser; only `command`'s module is imported, for its options.

    Most commands need Rasa (and with it TensorFlow, several seconds to import);
    `rasa-handover --help` and `rasa-handover inbox` should not pay for that.
    """
    parser = argparse.ArgumentParser(
        prog="rasa-handover",
        description="Hand Rasa conversations to human agents.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        subparser = commands.add_parser(name, help=help_text)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(subparser)
            subparser.set_defaults(run=module.run)
    return parser


def chosen_command(argv: List[str]) -> Optional[str]:
    """The subcommand `argv` names (its first word that is not an option)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: Optional[List[str]] = None) -> int:
    """Runs `rasa-handover`; returns the exit code."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(chosen_command(words))
    args = parser.parse_args(words)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())

"""`rasa-handover`: the plugin's command line.

    rasa-handover inbox --config inbox.yml --db postgresql://... --port 5010
    rasa-handover evaluate conversations.yml --model models/bot.tar.gz --baseline

Subcommands are added here as the plugin grows (tune, export, report, evaluate).
"""

import argparse
import logging
import sys
from typing import List, Optional

from rasa_handover.__version__ import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from rasa_handover import evaluation
    from rasa_handover.inbox import cli as inbox_cli

    parser = argparse.ArgumentParser(
        prog="rasa-handover",
        description="Hand Rasa conversations to human agents.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    inbox = commands.add_parser(
        "inbox", help="run the inbox service on its own (for several replicas)"
    )
    inbox_cli.add_arguments(inbox)
    inbox.set_defaults(run=inbox_cli.run)
    evaluate = commands.add_parser(
        "evaluate",
        help="measure when and why a trained bot hands over, on labelled "
        "conversations (optionally against Rasa's FallbackClassifier + rules)",
    )
    evaluation.add_arguments(evaluate)
    evaluate.set_defaults(run=evaluation.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Runs `rasa-handover`; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())

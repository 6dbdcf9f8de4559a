"""`rasa-handover replay`: what a tuning file would change, before it goes live.

    rasa-handover replay --db sqlite:///handover.db           # tune's proposal
    rasa-handover replay --db ... --proposed my_tuning.yml    # any tuning file

Replays the stored handovers (`feedback.replay`) with the current tuning file
and the proposed one: by default the file `rasa-handover tune` would write from
the same outcomes (`tune --replay` prints the same after its diff), or the
file given with `--proposed`. Prints the report of `feedback.replay_report`.
Writes nothing.
"""

import argparse

from rasa_handover.feedback.tune_command import (
    add_common_arguments,
    read_inputs,
    replay_report,
    tune,
)
from rasa_handover.tuning_file import load_tuning
from rasa_handover.validation import HandoverConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `rasa-handover replay` (tune's, and `--proposed`)."""
    add_common_arguments(parser)
    parser.add_argument(
        "--proposed",
        default=None,
        help="the tuning file to try (default: the one `rasa-handover tune` "
        "proposes from the same outcomes)",
    )


def run(args: argparse.Namespace) -> int:
    """Runs `rasa-handover replay`; returns the exit code."""
    inputs = read_inputs(args, "replay")
    if isinstance(inputs, int):
        return inputs
    if args.proposed:
        try:
            proposed = load_tuning(args.proposed)
        except HandoverConfigError as error:
            print(f"rasa-handover replay: {error}")
            return 2
        print(f"Proposed: {args.proposed}; current: {inputs.path}.")
    else:
        _, proposed = tune(
            inputs.records,
            inputs.settings,
            inputs.declarations,
            inputs.existing,
            inputs.rules,
        )
        print(f"Proposed: what `rasa-handover tune` would write to {inputs.path}.")
    print(replay_report(inputs, proposed))
    return 0

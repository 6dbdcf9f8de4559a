"""`rasa-handover export`: corrected intents back as Rasa NLU training data.

    rasa-handover export --db sqlite:///handover.db --domain domain

When an agent resolving a handover says the customer really had another
intent than NLU gave the escalation turn, that turn's message (redacted, as in
the payload) becomes an NLU example of the corrected intent in
`data/handover_feedback_nlu.yml`. The file is written with Rasa's own writer
and merged with what it already holds: an example is never exported twice.
Intents the domain does not have are left out (and listed).
"""

import argparse
import asyncio
import re
from pathlib import Path
from typing import Any, List, Optional, Sequence, Set, Tuple

from rasa_handover.feedback.handovers import Handover, handovers_from
from rasa_handover.feedback.tune_command import domain_path, read_outcomes
from rasa_handover.inbox.config import DEFAULT_DB_URL
from rasa_handover.redaction import DROPPED_TEXT, MASK_PLACEHOLDER

DEFAULT_NLU_FILE = "data/handover_feedback_nlu.yml"
# "][" would read as Rasa's entity annotation `[text][entity]`.
_ADJACENT_BRACKETS = re.compile(r"\]\s*(?=[\[({])")
_SPACES = re.compile(r"\s+")


def corrected_examples(handovers: Sequence[Handover]) -> List[Tuple[str, str]]:
    """(intent, text) for every escalation turn whose intent the agent corrected.

    Sorted and without duplicates; a message that redaction dropped or that is
    nothing but masks teaches nothing and is left out.
    """
    found: Set[Tuple[str, str]] = set()
    for handover in handovers:
        turn = handover.escalation
        if not handover.misread or turn is None or handover.corrected_intent is None:
            continue
        text = _SPACES.sub(" ", _ADJACENT_BRACKETS.sub("] ", turn.text)).strip()
        if not text or DROPPED_TEXT in text:
            continue
        if not text.replace(MASK_PLACEHOLDER, "").strip(" .,!?"):
            continue
        found.add((handover.corrected_intent, text))
    return sorted(found)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `rasa-handover export`."""
    parser.add_argument("--db", default=DEFAULT_DB_URL, help="the inbox database URL")
    parser.add_argument("--schema", default=None, help="PostgreSQL schema")
    parser.add_argument(
        "--domain",
        default=None,
        help="the domain (default: domain/ if it exists, else domain.yml); "
        "examples of intents it lacks are left out",
    )
    parser.add_argument(
        "--nlu-out", default=DEFAULT_NLU_FILE, help="the NLU file to write"
    )


def run(args: argparse.Namespace) -> int:
    """Runs `rasa-handover export`; returns the exit code."""
    try:
        intents = _domain_intents(domain_path(args.domain))
    except (ValueError, OSError) as error:
        print(f"rasa-handover export: {error}")
        return 2
    try:
        records = asyncio.run(read_outcomes(args.db, args.schema))
    except Exception as error:  # Any driver's error: say which URL failed.
        print(
            f"rasa-handover export: cannot read outcomes from {args.db} ({error}). "
            "Pass the inbox database with --db."
        )
        return 2
    examples = corrected_examples(handovers_from(records))
    unknown = sorted(
        {i for i, _ in examples if intents is not None and i not in intents}
    )
    examples = [(i, t) for i, t in examples if i not in unknown]
    out = Path(args.nlu_out)
    added = write_nlu(out, examples)
    print(
        f"{len(examples)} corrected examples from {len(records)} resolved "
        f"handovers; {added} new in {out}, {len(examples) - added} already there."
    )
    if unknown:
        print(f"Left out (not intents of the domain): {', '.join(unknown)}.")
    return 0


def write_nlu(path: Path, examples: Sequence[Tuple[str, str]]) -> int:
    """Merges the examples into the NLU file (Rasa's reader and writer).

    Returns:
        How many were not in the file yet.

    """
    from rasa.shared.nlu.training_data.formats.rasa_yaml import (
        RasaYAMLReader,
        RasaYAMLWriter,
    )
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    existing: List[Any] = []
    if path.is_file():
        existing = list(RasaYAMLReader().read(str(path)).training_examples)
    seen = {(m.get("intent"), m.get("text")) for m in existing}
    new = [(i, t) for i, t in examples if (i, t) not in seen]
    if not new:
        return 0
    messages = existing + [
        Message(data={"intent": intent, "text": text}) for intent, text in new
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RasaYAMLWriter().dumps(TrainingData(messages)), encoding="utf-8")
    return len(new)


def _domain_intents(path: Optional[Path]) -> Optional[Set[str]]:
    if path is None:
        return None
    from rasa.shared.core.domain import Domain

    return set(Domain.load(str(path)).intents)

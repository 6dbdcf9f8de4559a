"""`rasa-handover export`: outcomes back as Rasa training data and test stories.

    rasa-handover export --db sqlite:///handover.db --domain domain

When an agent resolving a handover says the customer really had another
intent than NLU gave the escalation turn, that turn's message (redacted, as in
the payload) becomes an NLU example of the corrected intent in
`data/handover_feedback_nlu.yml`. The file is written with Rasa's own writer
and merged with what it already holds: an example is never exported twice.
Intents the domain does not have are left out (and listed).

Labelled handovers become test stories (`feedback.stories`) in
`tests/handover_feedback_stories.yml`: not needed ones must not hand over at
that turn, late ones must hand over at the turn before. Merged the same way:
a story (known by its name, which names the ticket) is never written twice.
"""

import argparse
import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from rasa_handover.feedback.handovers import Handover, handovers_from
from rasa_handover.feedback.stories import (
    FeedbackStory,
    feedback_stories,
    training_text,
)
from rasa_handover.feedback.tune_command import (
    domain_path,
    read_outcomes,
    read_settings,
)
from rasa_handover.inbox.config import DEFAULT_DB_URL

DEFAULT_NLU_FILE = "data/handover_feedback_nlu.yml"
DEFAULT_STORIES_FILE = "tests/handover_feedback_stories.yml"


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
        text = training_text(turn.text)
        if text is not None:
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
    parser.add_argument("--config", default="config.yml", help="the bot's config.yml")
    parser.add_argument(
        "--data",
        default="data",
        help="the bot's stories and rules: the answer a not-needed story expects",
    )
    parser.add_argument(
        "--nlu-out", default=DEFAULT_NLU_FILE, help="the NLU file to write"
    )
    parser.add_argument(
        "--stories-out",
        default=DEFAULT_STORIES_FILE,
        help="the test stories file to write",
    )


def run(args: argparse.Namespace) -> int:
    """Runs `rasa-handover export`; returns the exit code."""
    try:
        domain = _domain(domain_path(args.domain))
        settings = read_settings(Path(args.config))
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
    handovers = handovers_from(records)
    intents = set(domain.intents) if domain is not None else None
    examples = corrected_examples(handovers)
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
    stories, skipped = feedback_stories(
        handovers, settings.handover_action, bot_answers(Path(args.data), domain)
    )
    stories_out = Path(args.stories_out)
    new = write_stories(stories_out, stories)
    print(
        f"{len(stories)} test stories from the labelled handovers; {new} new in "
        f"{stories_out}, {len(stories) - new} already there."
    )
    for conversation, why in skipped:
        print(f"    not exported: {conversation}: {why}")
    return 0


def bot_answers(data: Path, domain: Any) -> Dict[str, str]:
    """Intent -> the bot's action right after it.

    Only where the bot's stories and rules (read with Rasa's own loader) give
    the intent exactly one.
    """
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.training_data.loading import load_data_from_resource

    if not data.exists():
        return {}
    found: Dict[str, Set[str]] = {}
    for step in load_data_from_resource(str(data), domain or Domain.empty()):
        intent: Optional[str] = None
        for event in step.events:
            if isinstance(event, UserUttered):
                intent = event.intent_name
            elif isinstance(event, ActionExecuted) and intent:
                if event.action_name and event.action_name != ACTION_LISTEN_NAME:
                    found.setdefault(intent, set()).add(event.action_name)
                intent = None
    return {i: next(iter(a)) for i, a in found.items() if len(a) == 1}


def write_stories(path: Path, stories: Sequence[FeedbackStory]) -> int:
    """Merges the stories into the test stories file (Rasa's reader and writer).

    Returns:
        How many were not in the file yet (a story is known by its name).

    """
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import (
        YAMLStoryReader,
    )
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import (
        YAMLStoryWriter,
    )
    from rasa.shared.core.training_data.structures import StoryStep

    existing: List[Any] = []
    if path.is_file():
        existing = YAMLStoryReader(Domain.empty()).read_from_file(str(path))
    names = {step.block_name for step in existing}
    new = [story for story in stories if story.name not in names]
    if not new:
        return 0
    steps = list(existing)
    for story in new:
        events: List[Event] = []
        for step in story.steps:
            if step.intent is not None:
                events.append(UserUttered(step.text, {"name": step.intent}))
            elif step.action is not None:
                events.append(ActionExecuted(step.action))
            elif step.slot is not None:
                events.append(SlotSet(*step.slot))
        steps.append(StoryStep(block_name=story.name, events=events))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        YAMLStoryWriter().dumps(steps, is_test_story=True), encoding="utf-8"
    )
    return len(new)


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


def _domain(path: Optional[Path]) -> Any:
    if path is None:
        return None
    from rasa.shared.core.domain import Domain

    return Domain.load(str(path))

"""The bot's own intent for a person, found in its NLU data (for `init`).

A bot written before the plugin often has its own intent for "I want to talk to
a human", under a name of its own (`talk_to_human`, `human_handover`,
`agent`). `init` must not add the plugin's `human_handoff` next to it: two
intents with the same examples split NLU's confidence between them, so neither
is sure. Instead `init` names the bot's intent in `explicit_request_intents`
and leaves the plugin's `human_handoff` examples out.

An intent is the bot's own request for a person when the plugin's phrase grammar
(`rasa_handover.person_requests`, the explicit-request safety net) finds a
request in at least `PERSON_SHARE` of its examples, and it has at least
`MIN_EXAMPLES` of them.
"""

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from rasa_handover.bot_rules import round_trip_yaml
from rasa_handover.constants import INTENT_HUMAN_HANDOFF

# Share of an intent's examples the phrase grammar must read as a request for a
# person. The grammar misses some requests (about one in ten of a bot's
# examples) and never fires on most other intents' examples (0.4% false
# hits on other bots' examples: docs/explicit-request.md), so half is far from
# both.
PERSON_SHARE = 0.5
MIN_EXAMPLES = 3
# An entity annotation, `[text](entity)` or `[text]{"entity": ...}`: its text.
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class PersonIntent:
    """An intent of the bot whose examples ask for a person."""

    intent: str
    path: Path
    examples: int
    requests: int


def examples_by_intent(
    data_dir: Path, skip: Sequence[Path] = ()
) -> Dict[str, Dict[Path, List[str]]]:
    """Intent -> file -> its examples' texts, from the NLU files under `data_dir`."""
    found: Dict[str, Dict[Path, List[str]]] = {}
    paths = sorted(data_dir.rglob("*.y*ml")) if data_dir.is_dir() else []
    for path in (p for p in paths if p not in skip):
        for intent, text in _examples(path):
            found.setdefault(intent, {}).setdefault(path, []).append(text)
    return found


def _examples(path: Path) -> Iterator[Any]:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError):
        return  # Rasa reports a broken file itself
    entries = data.get("nlu") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("intent"):
            continue
        examples = entry.get("examples")
        lines = examples.splitlines() if isinstance(examples, str) else []
        for line in lines:
            text = line.strip()
            if text.startswith("- "):
                yield str(entry["intent"]), _ANNOTATION.sub(r"\1", text[2:]).strip()


def person_intents(data_dir: Path, skip: Sequence[Path] = ()) -> List[PersonIntent]:
    """The bot's own intents for a person (not `human_handoff`), most examples first.

    Args:
        data_dir: The bot's `data/` folder.
        skip: Files to leave out (the plugin's own, when init added them).

    """
    from rasa_handover.person_requests import find_explicit_request

    found = []
    for intent, files in examples_by_intent(data_dir, skip).items():
        texts = [text for examples in files.values() for text in examples]
        if intent == INTENT_HUMAN_HANDOFF or len(texts) < MIN_EXAMPLES:
            continue
        requests = sum(find_explicit_request(text) is not None for text in texts)
        if requests >= PERSON_SHARE * len(texts):
            path = max(files, key=lambda p: len(files[p]))
            found.append(PersonIntent(intent, path, len(texts), requests))
    return sorted(found, key=lambda found: (-found.examples, found.intent))


def nlu_without(text: str, intent: str) -> str:
    """An NLU file without the examples of `intent` (its comments stay)."""
    yaml = round_trip_yaml()
    data = yaml.load(text)
    data["nlu"][:] = [e for e in data["nlu"] if e.get("intent") != intent]
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def explain(found: Sequence[PersonIntent], root: Path) -> str:
    """What `init` did about the bot's own intents for a person."""
    where = "; ".join(
        f"{f.intent} in {f.path.relative_to(root).as_posix()} ({f.requests} of "
        f"{f.examples} examples ask for a person)"
        for f in found
    )
    names = ", ".join(f.intent for f in found)
    return (
        f"Your bot has its own intent for a person: {where}. config.yml lists it "
        f"in HandoverPolicy's `explicit_request_intents`, so it hands over as "
        f"{INTENT_HUMAN_HANDOFF} does (HandoverPolicy outranks your rules and "
        f"stories for it), and no {INTENT_HUMAN_HANDOFF} examples were added: "
        f"two intents with the same examples would split NLU's confidence. "
        f"Keep your examples in {names}."
    )


__all__ = [
    "MIN_EXAMPLES",
    "PERSON_SHARE",
    "PersonIntent",
    "explain",
    "nlu_without",
    "person_intents",
]

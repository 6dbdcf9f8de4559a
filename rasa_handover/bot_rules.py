"""The bot's own answers to the plugin's intents, and the rules `init` adds.

`init` adds `data/handover_rules.yml` (`human_handoff` -> `action_handover`,
...). A bot written before the plugin may already answer one of those intents
itself, e.g. `human_handoff` -> `utter_handoff` (a phone number to call). Rasa
refuses to train on a rule that contradicts another rule or story ("Contradicting
rules or stories found"), so `init` leaves the plugin's rule for that intent out
and says which of the bot's rules and stories answer it. HandoverPolicy answers
the intent with its own action anyway: it outranks RulePolicy.
"""

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from rasa_handover.constants import INTENT_HUMAN_HANDOFF


@dataclass(frozen=True)
class OwnAnswer:
    """A rule or story of the bot that answers one of the plugin's intents itself."""

    path: Path
    kind: str  # "rule" or "story"
    name: str
    intent: str
    action: str


def _rules(data: Any) -> List[Dict[str, Any]]:
    rules = data.get("rules") if isinstance(data, dict) else None
    return [r for r in rules or [] if isinstance(r, dict)]


def shipped_answers(rules_text: str) -> Dict[str, str]:
    """Intent -> the action the shipped rules answer it with."""
    answers: Dict[str, str] = {}
    for rule in _rules(YAML(typ="safe").load(rules_text)):
        for intent, action in _answers(rule.get("steps")):
            answers.setdefault(intent, action)
    return answers


def _answers(steps: Any) -> Iterator[Any]:
    """(intent, first action after it) for each user turn of `steps`."""
    intent: Optional[str] = None
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        if "intent" in step:
            intent = step["intent"]
        elif "action" in step and intent is not None:
            yield intent, step["action"]
            intent = None


def own_answers(
    data_dir: Path, expected: Dict[str, str], skip: Sequence[Path] = ()
) -> List[OwnAnswer]:
    """The bot's rules and stories that answer an intent of `expected` otherwise."""
    found: List[OwnAnswer] = []
    paths = sorted(data_dir.rglob("*.y*ml")) if data_dir.is_dir() else []
    for path in (p for p in paths if p not in skip):
        try:
            data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        except (YAMLError, UnicodeDecodeError):
            continue  # Rasa reports a broken file itself
        if not isinstance(data, dict):
            continue
        for kind, key in (("rule", "rules"), ("story", "stories")):
            for entry in data.get(key) or []:
                if not isinstance(entry, dict):
                    continue
                for intent, action in _answers(entry.get("steps")):
                    if intent in expected and action != expected[intent]:
                        name = str(entry.get(kind, "?"))
                        found.append(OwnAnswer(path, kind, name, intent, action))
    return found


def round_trip_yaml() -> YAML:
    """ruamel.yaml set to write a bot's file back as it was written.

    Comments, order and quotes survive; long lines are not folded.
    """
    yaml = YAML()
    yaml.preserve_quotes = True  # type: ignore[assignment]
    yaml.width = 4096  # type: ignore[assignment]
    return yaml


def rules_without(rules_text: str, intents: Sequence[str]) -> str:
    """The shipped rules file without the rules that start with one of `intents`."""
    yaml = round_trip_yaml()
    data = yaml.load(rules_text)
    kept = [
        rule
        for rule in data["rules"]
        if not any(intent in intents for intent, _ in _answers(rule.get("steps")))
    ]
    data["rules"][:] = kept
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def explain(answers: Sequence[OwnAnswer], expected: Dict[str, str], root: Path) -> str:
    """What `init` did about the bot's own answers, and what the author can do."""
    intents = sorted({a.intent for a in answers})
    where = "; ".join(
        f"{a.path.relative_to(root).as_posix()}, {a.kind} {a.name!r}: "
        f"{a.intent} -> {a.action}"
        for a in answers
    )
    plugin = ", ".join(f"{i} -> {expected[i]}" for i in intents)
    text = (
        f"Your training data already answers {', '.join(intents)} with an action of "
        f"its own ({where}). Rasa refuses to train on contradicting rules, so "
        f"data/handover_rules.yml leaves out the plugin's rule ({plugin})."
    )
    if INTENT_HUMAN_HANDOFF in intents:
        text += (
            f" HandoverPolicy still answers {INTENT_HUMAN_HANDOFF} with "
            f"{expected[INTENT_HUMAN_HANDOFF]} (it outranks your rules and "
            f"stories), so your action no longer runs there"
        )
    return text + (
        ": put the plugin's action in those rules and stories, or keep them and "
        "let `rasa-handover check` list the test stories this changes."
    )

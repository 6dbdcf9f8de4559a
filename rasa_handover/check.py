"""`rasa-handover check`: what the plugin changes in a bot, before it is deployed.

    rasa-handover check                       # newest model in models/, tests/
    rasa-handover check --model models/bot.tar.gz --stories tests/

Trains nothing. It loads the bot's trained model once and runs the bot's own test
stories through Rasa's story test machinery (`rasa.core.test`, as `rasa test
core` does) twice: with HandoverPolicy deciding, then with it abstaining on every
turn (as if it were not in the graph). Every story whose outcome differs is
listed with the trigger (reason code) and its evidence, so the author decides:
declare an intent, adjust a setting, or accept the handover and update the story.
Stories that expect the plugin's own actions and pass with it are counted, not
listed: they test the handover itself.

It also checks the handover configuration: credentials.yml names the channel,
inbox.yml is readable and defines agents, the model's domain has the fragment's
intents, actions and responses, and endpoints.yml points at an action server.
"""

import argparse
import json
import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

import yaml

from rasa_handover.constants import (
    ACTION_CLARIFY,
    ACTION_HANDBACK,
    ACTION_HANDOVER,
    ACTION_OFFER_HANDOVER,
    CHANNEL_CREDENTIALS_KEY,
    REASON_EXPLICIT_REQUEST,
    REASON_FRUSTRATION,
    REASON_LOW_CONFIDENCE,
    REASON_REGULATED_TOPIC,
    REASON_REPEAT_LOOP,
    SLOT_HANDOVER_EVIDENCE,
    SLOT_HANDOVER_REASON,
)

PLUGIN_ACTIONS = (
    ACTION_HANDOVER,
    ACTION_OFFER_HANDOVER,
    ACTION_HANDBACK,
    ACTION_CLARIFY,
)
FRAGMENT = Path(__file__).resolve().parent / "domain.yml"

# What the author can do about a change, by reason code (docs/policy.md).
ADVICE: Dict[str, str] = {
    REASON_REPEAT_LOOP: "if asking this again is normal in your bot, add the "
    "intent with `repeat_ignore_intents: {add: [<intent>]}` (or raise "
    "`repeat_limit`)",
    REASON_LOW_CONFIDENCE: "lower `confidence_floor`, or set "
    "`handover_confidence_floor` on the intent in your domain",
    REASON_FRUSTRATION: "raise `frustration_signals`, or remove a signal from "
    "`frustration_signal_types`",
    REASON_REGULATED_TOPIC: "the intent is declared `regulated` in your domain; "
    "remove the declaration if a person need not handle it",
    REASON_EXPLICIT_REQUEST: "the user asks for a person; remove the intent "
    "from `explicit_request_intents`, or set `explicit_request_phrases: false` "
    "if the phrase net misread the message",
}


class CheckError(Exception):
    """The check cannot run; the message says why and how to fix it."""


# --- Running the bot's test stories with the policy deciding or abstaining. -------


@dataclass(frozen=True)
class Decision:
    """One escalation HandoverPolicy made during a story."""

    reason: str
    evidence: Any
    action: str
    user_text: str


@dataclass
class StoryOutcome:
    """One test story run through the model."""

    name: str
    passed: bool
    first_error: str = ""
    decisions: List[Decision] = field(default_factory=list)


def handover_policy_nodes(agent: Any) -> List[Any]:
    """The graph nodes of a loaded Agent that run HandoverPolicy.

    Raises:
        CheckError: if the model's graph has no HandoverPolicy.

    """
    from rasa_handover.policy import HandoverPolicy

    runner = agent.processor.graph_runner if agent.processor else None
    nodes = getattr(runner, "_instantiated_nodes", {}).values()
    found = [n for n in nodes if issubclass(n._component_class, HandoverPolicy)]
    if not found:
        raise CheckError(
            "The model has no HandoverPolicy in its graph, so there is nothing to "
            "compare. Add `- name: rasa_handover.HandoverPolicy` to the policies "
            "in config.yml (`rasa-handover init` does it) and run `rasa train`."
        )
    return found


@contextmanager
def policy_mode(
    agent: Any, abstain: bool, record: Callable[..., None]
) -> Iterator[None]:
    """Makes the loaded HandoverPolicy abstain, or records its decisions.

    Rasa's graph node calls its component's class function (`_fn`), so the
    node's function is swapped for the duration, and restored afterwards. While
    abstaining the policy predicts all zeros on every turn, exactly as if it were
    not in the graph, and the model is not retrained.
    """
    nodes = handover_policy_nodes(agent)
    originals = [node._fn for node in nodes]

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def predict(policy: Any, **kwargs: Any) -> Any:
            if abstain:
                domain = kwargs["domain"]
                return policy._prediction(policy._default_predictions(domain))
            prediction = original(policy, **kwargs)
            record(kwargs["tracker"], prediction, kwargs["domain"])
            return prediction

        return predict

    try:
        for node, original in zip(nodes, originals):
            node._fn = wrap(original)
        yield
    finally:
        for node, original in zip(nodes, originals):
            node._fn = original


def _first_error(tracker: Any) -> str:
    from rasa.core.test import WronglyPredictedAction
    from rasa.shared.core.events import UserUttered

    user = ""
    for event in tracker.events:
        if isinstance(event, UserUttered):
            user = f'after "{event.text or ""}" (intent {event.intent_name})'
        if isinstance(event, WronglyPredictedAction):
            return (
                f"{user}: expected {event.action_name}, "
                f"{event.policy or 'no policy'} predicted "
                f"{event.action_name_prediction}"
            )
    return ""


async def run_stories(
    agent: Any, trackers: Sequence[Any], abstain: bool
) -> Dict[str, StoryOutcome]:
    """Runs the story trackers through the agent; outcomes by story name."""
    from rasa.core.test import _collect_story_predictions

    decisions: Dict[str, List[Decision]] = {}

    def record(tracker: Any, prediction: Any, domain: Any) -> None:
        events = {
            e.key: e.value
            for e in prediction.optional_events or []
            if getattr(e, "key", None)
        }
        if SLOT_HANDOVER_REASON not in events:
            return
        action = domain.action_names_or_texts[prediction.max_confidence_index]
        message = tracker.latest_message.text if tracker.latest_message else ""
        decisions.setdefault(tracker.sender_id, []).append(
            Decision(
                reason=str(events[SLOT_HANDOVER_REASON]),
                evidence=events.get(SLOT_HANDOVER_EVIDENCE),
                action=action,
                user_text=message or "",
            )
        )

    with policy_mode(agent, abstain, record):
        evaluation, _, _ = await _collect_story_predictions(list(trackers), agent)
    outcomes: Dict[str, StoryOutcome] = {}
    for passed, stories in (
        (True, evaluation.successful_stories),
        (False, evaluation.failed_stories),
    ):
        for tracker in stories:
            outcomes[tracker.sender_id] = StoryOutcome(
                name=tracker.sender_id,
                passed=passed,
                first_error="" if passed else _first_error(tracker),
                decisions=decisions.get(tracker.sender_id, []),
            )
    return outcomes


def expects_plugin(tracker: Any) -> bool:
    """The story itself expects one of the plugin's actions (it tests the handover)."""
    from rasa.shared.core.events import ActionExecuted

    return any(
        isinstance(e, ActionExecuted) and e.action_name in PLUGIN_ACTIONS
        for e in tracker.events
    )


@dataclass(frozen=True)
class StoryChange:
    """A test story whose outcome the plugin changes."""

    name: str
    with_plugin: StoryOutcome
    without_plugin: StoryOutcome


def compare(
    with_plugin: Dict[str, StoryOutcome],
    without_plugin: Dict[str, StoryOutcome],
    handover_stories: Sequence[str] = (),
) -> Tuple[List[StoryChange], List[str]]:
    """The stories the plugin changes, and the handover stories it passes."""
    changes: List[StoryChange] = []
    passed_handover: List[str] = []
    for name in sorted(with_plugin):
        outcome, baseline = with_plugin[name], without_plugin.get(name)
        if name in handover_stories and outcome.passed:
            passed_handover.append(name)
        elif baseline is not None and (outcome.passed, outcome.first_error) != (
            baseline.passed,
            baseline.first_error,
        ):
            changes.append(StoryChange(name, outcome, baseline))
    return changes, passed_handover


# --- The handover configuration. -------------------------------------------------


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None


def check_inbox(bot: Path) -> List[str]:
    """Problems with the channel in credentials.yml and the agents in inbox.yml."""
    from rasa_handover.inbox.config import InboxConfig, InboxConfigError

    credentials = _read_yaml(bot / "credentials.yml")
    if not isinstance(credentials, dict) or CHANNEL_CREDENTIALS_KEY not in credentials:
        return [
            f"credentials.yml does not name the handover channel, so customers "
            f"cannot be handed over and there is no inbox. Add "
            f"`{CHANNEL_CREDENTIALS_KEY}:` with `inbox_config: inbox.yml` "
            "(`rasa-handover init` does it)."
        ]
    channel = credentials[CHANNEL_CREDENTIALS_KEY] or {}
    if channel.get("inbox_url"):
        return []  # a standalone inbox: its own inbox.yml is checked where it runs
    if not channel.get("inbox_config"):
        return [
            "The handover channel in credentials.yml has no `inbox_config`, so the "
            "embedded inbox has no agents and every customer is told nobody is "
            "online. Add `inbox_config: inbox.yml` and list your agents there."
        ]
    path = bot / str(channel["inbox_config"])
    try:
        config = InboxConfig.from_yaml(path)
    except InboxConfigError as error:
        return [f"The inbox configuration cannot be used: {error}. See docs/inbox.md."]
    if not config.agents:
        return [
            f"{path.name} defines no agents, so every customer is told nobody is "
            f"online. Add one: `agents: [{{name: Maya, token: <a long secret>}}]`."
        ]
    return []


def check_domain(domain: Any) -> List[str]:
    """The fragment's intents, slots, actions and responses missing from `domain`."""
    fragment = _read_yaml(FRAGMENT) or {}
    have = {
        "intents": set(domain.intents),
        "slots": {slot.name for slot in domain.slots},
        "actions": set(domain.user_actions),
        "responses": set(domain.responses),
    }
    problems = []
    for key, present in have.items():
        wanted = fragment.get(key) or []
        names = [next(iter(w)) if isinstance(w, dict) else w for w in wanted]
        missing = [n for n in names if n not in present]
        if missing:
            problems.append(
                f"The model's domain lacks the handover {key} {', '.join(missing)}. "
                f"Copy rasa_handover/domain.yml next to your domain (`rasa-handover "
                f"init`), or reword them in yours, and train again."
            )
    return problems


def check_endpoints(bot: Path) -> List[str]:
    """endpoints.yml must name the action server that runs the plugin's actions."""
    endpoints = _read_yaml(bot / "endpoints.yml")
    if isinstance(endpoints, dict) and endpoints.get("action_endpoint"):
        return []
    return [
        "endpoints.yml has no `action_endpoint`, so action_handover cannot run. "
        "Add `action_endpoint: {url: http://localhost:5055/webhook}`."
    ]


# --- The command. ------------------------------------------------------------------


@dataclass
class Report:
    """What `check` found."""

    model: Path
    stories: int
    changes: List[StoryChange]
    handover_stories: List[str]
    problems: List[str]
    # Stories that fail with and without the plugin alike (not its doing).
    failing: List[str] = field(default_factory=list)


def newest_model(models: Path) -> Path:
    """The newest `.tar.gz` in `models`.

    Raises:
        CheckError: if there is none.

    """
    candidates = sorted(models.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise CheckError(
            f"There is no trained model in {models}. Train one first (`rasa train "
            f"--domain domain`), or pass `--model path/to/model.tar.gz`."
        )
    return candidates[-1]


async def check_bot(bot: Path, model: Path, stories: Path) -> Report:
    """Loads the model once and compares the stories with and without the policy."""
    from rasa.core.agent import Agent
    from rasa.core.test import _create_data_generator

    if not stories.exists():
        raise CheckError(
            f"There are no test stories at {stories}. Pass `--stories` with your "
            f"test stories (the files `rasa test core` runs)."
        )
    agent = Agent.load(str(model))
    handover_policy_nodes(agent)  # fails early, before any story runs
    generator = _create_data_generator(str(stories), agent)
    trackers = generator.generate_story_trackers()
    with_plugin = await run_stories(agent, trackers, abstain=False)
    without_plugin = await run_stories(agent, trackers, abstain=True)
    handover = [t.sender_id for t in trackers if expects_plugin(t)]
    changes, passed_handover = compare(with_plugin, without_plugin, handover)
    problems = check_inbox(bot) + check_endpoints(bot)
    if agent.domain is not None:
        problems += check_domain(agent.domain)
    changed = {change.name for change in changes}
    failing = [
        name
        for name, outcome in sorted(with_plugin.items())
        if not outcome.passed and name not in changed
    ]
    return Report(model, len(trackers), changes, passed_handover, problems, failing)


def _evidence(evidence: Any) -> str:
    text = json.dumps(evidence, default=str, ensure_ascii=False)
    return text if len(text) <= 300 else text[:297] + "..."


def describe_change(change: StoryChange) -> List[str]:
    """The lines that explain one change to the author."""
    before, after = change.without_plugin, change.with_plugin
    verdict = {True: "passes", False: "fails"}
    lines = [
        f'- "{change.name}" {verdict[before.passed]} without the plugin and '
        f"{verdict[after.passed]} with it."
    ]
    if after.first_error:
        lines.append(f"    with the plugin: {after.first_error}")
    if before.first_error:
        lines.append(f"    without it: {before.first_error}")
    for decision in after.decisions:
        lines.append(
            f'    trigger: {decision.reason} on "{decision.user_text}" -> '
            f"{decision.action}; evidence: {_evidence(decision.evidence)}"
        )
        if decision.reason in ADVICE:
            lines.append(f"    you decide: {ADVICE[decision.reason]}, or accept it")
            lines.append("    and add the handover to the story.")
    return lines


def format_report(report: Report) -> str:
    """The report `check` prints."""
    lines = [f"Model {report.model}, {report.stories} test stories."]
    if report.changes:
        lines.append(
            f"\nThe plugin changes the outcome of {len(report.changes)} of your "
            f"stories:"
        )
        for change in report.changes:
            lines += describe_change(change)
    else:
        lines.append("\nThe plugin changes none of your stories' outcomes.")
    if report.handover_stories:
        count = len(report.handover_stories)
        lines.append(
            "1 story expects the handover and passes with it."
            if count == 1
            else f"{count} stories expect the handover and pass with it."
        )
    if report.failing:
        failing = len(report.failing)
        lines.append(
            f"{failing} {'story fails' if failing == 1 else 'stories fail'} with "
            f"and without the plugin (not its doing): {', '.join(report.failing)}."
        )
    if report.problems:
        lines.append("\nThe handover configuration is incomplete:")
        lines += [f"- {problem}" for problem in report.problems]
    else:
        lines.append("The handover configuration is complete.")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the `check` options to `parser`."""
    parser.add_argument(
        "--bot", type=Path, default=Path("."), help="the bot's folder (default: .)"
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="the trained model (default: the newest in the bot's models/)",
    )
    parser.add_argument(
        "--stories",
        type=Path,
        help="the test stories (default: the bot's tests/)",
    )


def run(args: argparse.Namespace) -> int:
    """Runs `rasa-handover check`.

    Returns:
        0 when the plugin changes no story and the configuration is complete,
        1 when it changes stories or something is missing, 2 when the check
        cannot run.

    """
    import asyncio

    from rasa.utils.log_utils import configure_structlog

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    configure_structlog(logging.WARNING)  # the report, not every prediction
    logging.getLogger("rasa").setLevel(logging.WARNING)
    bot: Path = args.bot
    try:
        model = args.model or newest_model(bot / "models")
        stories = args.stories or bot / "tests"
        report = asyncio.run(check_bot(bot, model, stories))
    except CheckError as error:
        print(f"rasa-handover check: {error}", file=sys.stderr)
        return 2
    print(format_report(report))
    return 1 if report.changes or report.problems else 0

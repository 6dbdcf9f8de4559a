"""`rasa-handover evaluate`: measure when and why a trained bot hands over.

    rasa-handover evaluate benchmarks/conversations/support.yml
        --model example_bot/models/example_bot.tar.gz --project example_bot
        --baseline --out benchmarks/results/evaluate.json

Each labelled conversation (format: docs/benchmarks.md) is sent, turn by turn,
through a trained Rasa model with `Agent.load(model)` and the agent's
`handle_message` (what `Agent.handle_text` calls, plus the turn's metadata):
real NLU, every policy, an in-memory tracker store and no action server. The
tracker's `ActionExecuted` events say which action ran and which policy predicted
it; the decision slots (`handover_reason`, `handover_evidence`) come from the
policy's optional events, which Rasa applies even though the custom action itself
cannot run here. A conversation stops at its first handover.

`--baseline` evaluates the same conversations with Rasa's own approach, trained
from the same project: the same NLU pipeline plus `FallbackClassifier` at the
policy's confidence floor and ambiguity threshold, the policies without
`HandoverPolicy`, and rules that map the explicit request intents and
`nlu_fallback` to the handover action. That model is cached by a fingerprint of
its inputs, so a rerun costs only the evaluation.

The metric code is pure (`compute_metrics`), so it is unit tested on hand-made
tables; Rasa is imported only by the functions that need it.
"""

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    FrozenSet,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import yaml

from rasa_handover.__version__ import __version__
from rasa_handover.constants import (
    INTENT_NLU_FALLBACK,
    PROPERTY_REGULATED,
    REASON_CODES,
    REASON_EXPLICIT_REQUEST,
    REASON_LOW_CONFIDENCE,
    REASON_REGULATED_TOPIC,
    REASON_REPEAT_LOOP,
    SLOT_HANDOVER_EVIDENCE,
    SLOT_HANDOVER_REASON,
)
from rasa_handover.settings import (
    HandoverConfigError,
    HandoverSettings,
    parse_settings,
)

if TYPE_CHECKING:  # pragma: no cover - Rasa is imported lazily
    from rasa.core.agent import Agent

logger = logging.getLogger(__name__)

# --- Names and defaults. ---------------------------------------------------------

# The predicted label of a conversation in which nothing happened.
NONE_LABEL = "none"
# The label of a handover whose reason the run cannot tell: no `handover_reason`
# was set on that turn and the intent maps to no reason code (e.g. a baseline
# rule or TED predicted the handover after an ordinary intent).
REASON_OTHER = "other"
# Every label a confusion table may hold, in display order.
LABELS: Tuple[str, ...] = (*REASON_CODES, REASON_OTHER, NONE_LABEL)
# The only value `escalate:` takes.
ESCALATE_NEVER = "never"
# Where a reason came from: the policy's `handover_reason` slot, or inferred from
# the intent of the turn (baseline, or a rule/TED prediction).
REASON_SOURCE_POLICY = "policy"
REASON_SOURCE_INFERRED = "inferred"
# "Within +1 turn": a decision at most this many turns after the gold turn.
LATE_TOLERANCE_TURNS = 1
# Names of the two evaluated systems in reports and JSON.
SYSTEM_HANDOVER = "handover_policy"
SYSTEM_BASELINE = "baseline"
SYSTEM_TITLES = {
    SYSTEM_HANDOVER: "HandoverPolicy",
    SYSTEM_BASELINE: "FallbackClassifier + rules",
}
# Bump when the generated baseline project changes, so cached models are rebuilt.
BASELINE_FORMAT_VERSION = 1
BASELINE_RULES_FILE = "rasa_handover_baseline_rules.yml"
FALLBACK_CLASSIFIER = "FallbackClassifier"
RULE_POLICY = "RulePolicy"
HANDOVER_POLICY_SUFFIX = "HandoverPolicy"
# Cached models and logs live outside the project (nothing lands in the repo).
CACHE_DIR_ENV = "RASA_HANDOVER_CACHE_DIR"
DEFAULT_CACHE_DIR = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rasa-handover"
)
# Rasa's own training cache, reused across baseline trainings (NLU components
# whose inputs did not change are not retrained).
RASA_CACHE_DIRECTORY_ENV = "RASA_CACHE_DIRECTORY"
# Lines of a failed training log shown in the error.
TRAIN_LOG_TAIL_LINES = 30
# Decimal places of rates and means in reports.
REPORT_DIGITS = 3

_CONVERSATION_KEYS = frozenset(
    {"id", "turns", "slots", "escalate_at", "offer_at", "escalate", "reason"}
    | {"tags", "note"}
)
_TURN_KEYS = frozenset({"text", "slots", "metadata"})


class ConversationFileError(ValueError):
    """The labelled conversations file cannot be used; the message says why."""


class EvaluationError(RuntimeError):
    """The evaluation cannot run (bad model, project or training failure)."""


# --- The labelled conversations. -------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One user message of a labelled conversation.

    Attributes:
        text: What the user types.
        slots: Slots to set right before the message (e.g. `account_tier`),
            as an account lookup would.
        metadata: Message metadata, passed to Rasa with the message.

    """

    text: str
    slots: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a conversation should do (gold) or did (prediction).

    Attributes:
        escalate_at: The 1-based user turn of the handover, or `None`.
        offer_at: The 1-based user turn of the offer of a person, or `None`.
        reason: The reason code of the first intervention (offer or handover);
            `None` when there is none.

    """

    escalate_at: Optional[int] = None
    offer_at: Optional[int] = None
    reason: Optional[str] = None

    @property
    def first_turn(self) -> Optional[int]:
        """The turn of the first intervention (offer or handover), if any."""
        turns = [t for t in (self.offer_at, self.escalate_at) if t is not None]
        return min(turns) if turns else None

    @property
    def label(self) -> str:
        """The reason of the first intervention, or `none`."""
        if self.first_turn is None:
            return NONE_LABEL
        return self.reason or REASON_OTHER


@dataclass(frozen=True)
class LabelledConversation:
    """A conversation with its gold decision."""

    id: str
    turns: Tuple[Turn, ...]
    gold: Outcome
    tags: Tuple[str, ...] = ()
    note: str = ""


def load_conversations(path: Union[str, Path]) -> List[LabelledConversation]:
    """Reads and validates a labelled conversations file.

    Args:
        path: A YAML file (format: docs/benchmarks.md).

    Returns:
        The conversations, in file order.

    Raises:
        ConversationFileError: naming the conversation, what is wrong and how to
            fix it.

    """
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConversationFileError(f"{source}: cannot read it ({error}).") from error
    except yaml.YAMLError as error:
        raise ConversationFileError(f"{source}: not valid YAML ({error}).") from error
    return parse_conversations(data, str(source))


def parse_conversations(
    data: Any, source: str = "<data>"
) -> List[LabelledConversation]:
    """Validates already-parsed YAML; see `load_conversations`.

    Raises:
        ConversationFileError: on the first problem found.

    """
    if isinstance(data, Mapping):
        data = data.get("conversations")
    if not isinstance(data, list) or not data:
        raise ConversationFileError(
            f"{source}: expected a non-empty list under `conversations:` "
            f"(see docs/benchmarks.md for the format)."
        )
    conversations: List[LabelledConversation] = []
    seen: Dict[str, int] = {}
    for position, raw in enumerate(data, start=1):
        conversation = _parse_conversation(raw, f"{source}: conversation #{position}")
        if conversation.id in seen:
            raise ConversationFileError(
                f"{source}: conversation #{position} reuses the id "
                f"'{conversation.id}' of conversation #{seen[conversation.id]}; "
                f"ids must be unique."
            )
        seen[conversation.id] = position
        conversations.append(conversation)
    return conversations


def _parse_conversation(raw: Any, where: str) -> LabelledConversation:
    if not isinstance(raw, Mapping):
        raise ConversationFileError(f"{where}: expected a mapping, got {raw!r}.")
    raw_id = raw.get("id")
    if not isinstance(raw_id, (str, int)) or isinstance(raw_id, bool) or raw_id == "":
        raise ConversationFileError(f"{where}: needs an `id` (a string).")
    where = f"{where} ('{raw_id}')"
    unknown = sorted(set(raw) - _CONVERSATION_KEYS)
    if unknown:
        raise ConversationFileError(
            f"{where}: unknown keys {unknown}; valid keys are "
            f"{sorted(_CONVERSATION_KEYS)}."
        )
    raw_turns = raw.get("turns")
    if not isinstance(raw_turns, list) or not raw_turns:
        raise ConversationFileError(f"{where}: needs a non-empty list of `turns`.")
    turns = [_parse_turn(t, f"{where}, turn {i}") for i, t in enumerate(raw_turns, 1)]
    opening_slots = _mapping(raw.get("slots"), f"{where}: `slots`")
    if opening_slots:
        # Conversation-level slots are set before the first turn.
        first = turns[0]
        turns[0] = Turn(first.text, {**opening_slots, **first.slots}, first.metadata)
    gold = _parse_gold(raw, len(turns), where)
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConversationFileError(f"{where}: `tags` must be a list of strings.")
    note = raw.get("note") or ""
    if not isinstance(note, str):
        raise ConversationFileError(f"{where}: `note` must be a string.")
    return LabelledConversation(str(raw_id), tuple(turns), gold, tuple(tags), note)


def _parse_turn(raw: Any, where: str) -> Turn:
    if isinstance(raw, str):
        if not raw.strip():
            raise ConversationFileError(f"{where}: the text is empty.")
        return Turn(raw)
    if not isinstance(raw, Mapping):
        raise ConversationFileError(
            f"{where}: expected the text, or a mapping with `text` (and optional "
            f"`slots`, `metadata`), got {raw!r}."
        )
    unknown = sorted(set(raw) - _TURN_KEYS)
    if unknown:
        raise ConversationFileError(
            f"{where}: unknown keys {unknown}; valid keys are {sorted(_TURN_KEYS)}."
        )
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ConversationFileError(f"{where}: needs a non-empty `text`.")
    return Turn(
        text,
        _mapping(raw.get("slots"), f"{where}: `slots`"),
        _mapping(raw.get("metadata"), f"{where}: `metadata`"),
    )


def _mapping(raw: Any, where: str) -> Dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
        raise ConversationFileError(f"{where} must be a mapping of names to values.")
    return dict(raw)


def _turn_number(raw: Any, key: str, turn_count: int, where: str) -> Optional[int]:
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise ConversationFileError(
            f"{where}: `{key}` must be a user turn number (1-based), got {raw!r}."
        )
    if raw > turn_count:
        raise ConversationFileError(
            f"{where}: `{key}: {raw}` is beyond its {turn_count} turn(s); "
            f"turns are counted from 1."
        )
    return raw


def _parse_gold(raw: Mapping[str, Any], turn_count: int, where: str) -> Outcome:
    escalate_at = _turn_number(raw.get("escalate_at"), "escalate_at", turn_count, where)
    offer_at = _turn_number(raw.get("offer_at"), "offer_at", turn_count, where)
    never = raw.get("escalate")
    if never is not None and never != ESCALATE_NEVER:
        raise ConversationFileError(
            f"{where}: `escalate` only takes `{ESCALATE_NEVER}`; give the turn of a "
            f"handover with `escalate_at: <turn>`."
        )
    if never is not None and escalate_at is not None:
        raise ConversationFileError(
            f"{where}: has both `escalate: never` and `escalate_at`; keep one."
        )
    if never is None and escalate_at is None and offer_at is None:
        raise ConversationFileError(
            f"{where}: says nothing about the decision; add `escalate_at: <turn>` "
            f"with a `reason`, `offer_at: <turn>`, or `escalate: never`."
        )
    reason = raw.get("reason")
    if escalate_at is None and offer_at is None:
        if reason is not None:
            raise ConversationFileError(
                f"{where}: a conversation that never escalates has no `reason`; "
                f"remove `reason: {reason}`."
            )
        return Outcome()
    if reason not in REASON_CODES:
        raise ConversationFileError(
            f"{where}: `reason` must be one of {list(REASON_CODES)}, got {reason!r}."
        )
    if offer_at is not None:
        if reason != REASON_REPEAT_LOOP:
            raise ConversationFileError(
                f"{where}: only the repeat loop offers a person, so `offer_at` "
                f"needs `reason: {REASON_REPEAT_LOOP}` (got {reason!r})."
            )
        if escalate_at is not None and escalate_at <= offer_at:
            raise ConversationFileError(
                f"{where}: `escalate_at: {escalate_at}` must come after "
                f"`offer_at: {offer_at}`."
            )
    return Outcome(escalate_at=escalate_at, offer_at=offer_at, reason=str(reason))


# --- Metrics (pure). -------------------------------------------------------------


@dataclass(frozen=True)
class ReasonScore:
    """Precision, recall and F1 of one reason code (`None` when undefined)."""

    precision: Optional[float]
    recall: Optional[float]
    f1: Optional[float]
    support: int
    predicted: int


@dataclass(frozen=True)
class GroupAccuracy:
    """Accuracy over a group of conversations (a gold reason or a tag)."""

    conversations: int
    exact: float
    within_one_turn: float


@dataclass(frozen=True)
class Metrics:
    """Everything `rasa-handover evaluate` reports for one system.

    Attributes:
        conversations: How many conversations were scored.
        never_conversations: How many of them must never be handed over.
        accuracy_exact: Share with the right decision at the right turn: the
            handover turn and the offer turn both equal the gold ones (or are
            both absent).
        accuracy_within_one_turn: The same, allowing each decision to come up
            to `LATE_TOLERANCE_TURNS` turn(s) late.
        accuracy_exact_with_reason: `accuracy_exact` and the right reason code.
        false_escalation_rate: Share of `never` conversations handed over.
        false_escalations: Their count.
        unneeded_offer_rate: Share of conversations without any gold
            intervention in which the bot offered a person.
        missed: Conversations with a gold intervention and none predicted.
        early / late: Conversations whose first intervention came before /
            after the gold one (both present).
        mean_turns_early / mean_turns_late: By how many turns, on average.
        per_reason: Precision / recall / F1 of each reason code, on the reason of
            the first intervention, whatever its turn.
        macro_f1: Mean F1 over reason codes with gold support.
        confusion: Gold label -> predicted label -> count.
        per_gold_reason: Accuracy per gold label.
        per_tag: Accuracy per conversation tag.

    """

    conversations: int
    never_conversations: int
    accuracy_exact: float
    accuracy_within_one_turn: float
    accuracy_exact_with_reason: float
    false_escalation_rate: Optional[float]
    false_escalations: int
    unneeded_offer_rate: Optional[float]
    missed: int
    early: int
    late: int
    mean_turns_early: Optional[float]
    mean_turns_late: Optional[float]
    per_reason: Dict[str, ReasonScore]
    macro_f1: Optional[float]
    confusion: Dict[str, Dict[str, int]]
    per_gold_reason: Dict[str, GroupAccuracy]
    per_tag: Dict[str, GroupAccuracy]

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-serialisable copy."""
        return asdict(self)


def turn_matches(gold: Optional[int], predicted: Optional[int], tolerance: int) -> bool:
    """Whether a predicted decision turn matches the gold one.

    Args:
        gold: The gold turn, or `None` for "must not happen".
        predicted: The predicted turn, or `None` for "did not happen".
        tolerance: How many turns late still counts (never early).

    Returns:
        True when both are absent, or the prediction is 0..tolerance turns late.

    """
    if gold is None or predicted is None:
        return gold is None and predicted is None
    return 0 <= predicted - gold <= tolerance


def decision_matches(gold: Outcome, predicted: Outcome, tolerance: int = 0) -> bool:
    """Right decisions at the right turns: the handover and the offer both match."""
    return turn_matches(gold.escalate_at, predicted.escalate_at, tolerance) and (
        turn_matches(gold.offer_at, predicted.offer_at, tolerance)
    )


def _ratio(numerator: float, denominator: float) -> Optional[float]:
    return numerator / denominator if denominator else None


def _f1(precision: Optional[float], recall: Optional[float]) -> Optional[float]:
    if precision is None or recall is None:
        return None
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _mean(values: Sequence[float]) -> Optional[float]:
    return sum(values) / len(values) if values else None


def _group_accuracy(pairs: Sequence[Tuple[Outcome, Outcome]]) -> GroupAccuracy:
    return GroupAccuracy(
        conversations=len(pairs),
        exact=sum(decision_matches(g, p) for g, p in pairs) / len(pairs),
        within_one_turn=sum(
            decision_matches(g, p, LATE_TOLERANCE_TURNS) for g, p in pairs
        )
        / len(pairs),
    )


def compute_metrics(
    pairs: Sequence[Tuple[Outcome, Outcome]],
    tags: Optional[Sequence[Sequence[str]]] = None,
) -> Metrics:
    """Scores predictions against gold decisions.

    Args:
        pairs: (gold, predicted) per conversation.
        tags: The tags of each conversation (same order), for `per_tag`.

    Returns:
        The metrics (see `Metrics` for each definition).

    Raises:
        ValueError: if `pairs` is empty or `tags` has another length.

    """
    if not pairs:
        raise ValueError("compute_metrics needs at least one (gold, predicted) pair.")
    if tags is not None and len(tags) != len(pairs):
        raise ValueError(f"{len(tags)} tag lists for {len(pairs)} conversations.")
    count = len(pairs)
    never = [(g, p) for g, p in pairs if g.escalate_at is None]
    quiet = [(g, p) for g, p in never if g.offer_at is None]
    false_escalations = sum(p.escalate_at is not None for _, p in never)
    early: List[int] = []
    late: List[int] = []
    missed = 0
    for gold, predicted in pairs:
        gold_turn, predicted_turn = gold.first_turn, predicted.first_turn
        if gold_turn is not None and predicted_turn is None:
            missed += 1
        elif gold_turn is not None and predicted_turn is not None:
            if predicted_turn < gold_turn:
                early.append(gold_turn - predicted_turn)
            elif predicted_turn > gold_turn:
                late.append(predicted_turn - gold_turn)

    confusion: Dict[str, Dict[str, int]] = {}
    for gold, predicted in pairs:
        row = confusion.setdefault(gold.label, {})
        row[predicted.label] = row.get(predicted.label, 0) + 1
    per_reason: Dict[str, ReasonScore] = {}
    for reason in REASON_CODES:
        support = sum(g.label == reason for g, _ in pairs)
        predicted_count = sum(p.label == reason for _, p in pairs)
        hits = sum(g.label == reason and p.label == reason for g, p in pairs)
        precision = _ratio(hits, predicted_count)
        recall = _ratio(hits, support)
        per_reason[reason] = ReasonScore(
            precision, recall, _f1(precision, recall), support, predicted_count
        )
    f1_scores = [s.f1 for s in per_reason.values() if s.support and s.f1 is not None]

    by_gold: Dict[str, List[Tuple[Outcome, Outcome]]] = {}
    for gold, predicted in pairs:
        by_gold.setdefault(gold.label, []).append((gold, predicted))
    by_tag: Dict[str, List[Tuple[Outcome, Outcome]]] = {}
    for pair, pair_tags in zip(pairs, tags or [()] * count):
        for tag in pair_tags:
            by_tag.setdefault(tag, []).append(pair)

    return Metrics(
        conversations=count,
        never_conversations=len(never),
        accuracy_exact=sum(decision_matches(g, p) for g, p in pairs) / count,
        accuracy_within_one_turn=sum(
            decision_matches(g, p, LATE_TOLERANCE_TURNS) for g, p in pairs
        )
        / count,
        accuracy_exact_with_reason=sum(
            decision_matches(g, p) and g.label == p.label for g, p in pairs
        )
        / count,
        false_escalation_rate=_ratio(false_escalations, len(never)),
        false_escalations=false_escalations,
        unneeded_offer_rate=_ratio(
            sum(p.offer_at is not None for _, p in quiet), len(quiet)
        ),
        missed=missed,
        early=len(early),
        late=len(late),
        mean_turns_early=_mean(early),
        mean_turns_late=_mean(late),
        per_reason=per_reason,
        macro_f1=_mean(f1_scores),
        confusion={
            gold: {p: confusion[gold][p] for p in LABELS if p in confusion[gold]}
            for gold in LABELS
            if gold in confusion
        },
        per_gold_reason={
            label: _group_accuracy(by_gold[label])
            for label in LABELS
            if label in by_gold
        },
        per_tag={tag: _group_accuracy(by_tag[tag]) for tag in sorted(by_tag)},
    )


# --- Running conversations through a trained model. ------------------------------


@dataclass(frozen=True)
class TurnRecord:
    """What the bot understood and did on one user turn."""

    index: int
    text: str
    intent: Optional[str]
    confidence: Optional[float]
    # The top intent of NLU's ranking, ignoring `nlu_fallback`, to compare the
    # NLU of two models.
    top_intent: Optional[str]
    # (action name, policy that predicted it), in order.
    actions: Tuple[Tuple[str, Optional[str]], ...]
    handover_reason: Optional[str] = None


@dataclass(frozen=True)
class ConversationResult:
    """The prediction for one labelled conversation."""

    id: str
    predicted: Outcome
    reason_source: Optional[str]
    policy: Optional[str]
    evidence: Any
    turns: Tuple[TurnRecord, ...]
    escalation_reason: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-serialisable copy."""
        data = asdict(self)
        data["predicted"]["label"] = self.predicted.label
        return data


@dataclass(frozen=True)
class RunSettings:
    """What the runner needs to know about the bot's decisions."""

    handover_action: str
    offer_action: str
    explicit_request_intents: FrozenSet[str]
    regulated_intents: FrozenSet[str] = frozenset()

    @classmethod
    def from_settings(
        cls, settings: HandoverSettings, regulated_intents: FrozenSet[str]
    ) -> "RunSettings":
        """Takes the action and intent names from the policy's settings."""
        return cls(
            handover_action=settings.handover_action,
            offer_action=settings.offer_action,
            explicit_request_intents=settings.explicit_request_intents,
            regulated_intents=regulated_intents,
        )


def infer_reason(intent: Optional[str], settings: RunSettings) -> str:
    """The reason code a handover after `intent` stands for, when no slot says so.

    Used for the baseline (which sets no `handover_reason`) and for handovers
    that another policy predicted: `nlu_fallback` is low confidence, the explicit
    request intents are explicit requests, regulated intents are regulated
    topics; anything else is `other`.
    """
    if intent == INTENT_NLU_FALLBACK:
        return REASON_LOW_CONFIDENCE
    if intent in settings.explicit_request_intents:
        return REASON_EXPLICIT_REQUEST
    if intent in settings.regulated_intents:
        return REASON_REGULATED_TOPIC
    return REASON_OTHER


def regulated_intents_of(agent: "Agent") -> FrozenSet[str]:
    """The intents the agent's domain declares `regulated: true`."""
    domain = agent.domain
    if domain is None:
        return frozenset()
    return frozenset(
        name
        for name, properties in domain.intent_properties.items()
        if isinstance(properties, Mapping) and properties.get(PROPERTY_REGULATED)
    )


def check_slots(agent: "Agent", conversations: Sequence[LabelledConversation]) -> None:
    """Fails early, naming them, when conversations set slots the domain lacks.

    Raises:
        EvaluationError: listing the unknown slots and the conversations.

    """
    known = {slot.name for slot in agent.domain.slots} if agent.domain else set()
    unknown: Dict[str, List[str]] = {}
    for conversation in conversations:
        for turn in conversation.turns:
            for name in turn.slots:
                if name not in known:
                    unknown.setdefault(name, []).append(conversation.id)
    if unknown:
        details = "; ".join(f"'{k}' in {sorted(set(v))}" for k, v in unknown.items())
        raise EvaluationError(
            f"The conversations set slots the model's domain does not declare: "
            f"{details}. Declared slots: {sorted(known)}."
        )


def _short_policy(policy: Optional[str]) -> Optional[str]:
    """`policy_3_rasa_handover.HandoverPolicy` -> `HandoverPolicy`."""
    return policy.rsplit(".", 1)[-1] if policy else policy


async def run_conversation(
    agent: "Agent", conversation: LabelledConversation, settings: RunSettings
) -> ConversationResult:
    """Sends a labelled conversation through `agent`, stopping at the first handover.

    Args:
        agent: A loaded Rasa agent (in-memory tracker store, no action server).
        conversation: The conversation.
        settings: Action and intent names that mark the bot's decisions.

    Returns:
        What the bot did: the offer / handover turns, the reason and where it
        came from, the evidence, and every turn's intent and actions.

    """
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

    sender = f"evaluate-{conversation.id}-{uuid.uuid4().hex[:8]}"
    processor = agent.processor
    assert processor is not None, "the agent has no model loaded"
    records: List[TurnRecord] = []
    escalate_at: Optional[int] = None
    offer_at: Optional[int] = None
    reason: Optional[str] = None
    escalation_reason: Optional[str] = None
    reason_source: Optional[str] = None
    policy: Optional[str] = None
    evidence: Any = None
    for index, turn in enumerate(conversation.turns, start=1):
        # Start the session (and set the turn's slots) as the channel and an
        # account lookup would, before the message arrives.
        tracker = await processor.fetch_tracker_and_update_session(sender)
        for name, value in turn.slots.items():
            tracker.update(SlotSet(name, value))
        await agent.tracker_store.save(tracker)
        known_events = len(tracker.events)
        # `Agent.handle_text` builds exactly this message, without metadata.
        await agent.handle_message(
            UserMessage(turn.text, None, sender, metadata=dict(turn.metadata) or None)
        )
        tracker = await processor.get_tracker(sender)
        new_events = list(tracker.events)[known_events:]

        intent: Optional[str] = None
        confidence: Optional[float] = None
        top_intent: Optional[str] = None
        actions: List[Tuple[str, Optional[str]]] = []
        turn_reason: Optional[str] = None
        turn_evidence: Any = None
        for event in new_events:
            if isinstance(event, UserUttered):
                intent = event.intent.get("name")
                confidence = event.intent.get("confidence")
                ranking = event.parse_data.get("intent_ranking") or []
                top_intent = next(
                    (
                        r.get("name")
                        for r in ranking
                        if r.get("name") != INTENT_NLU_FALLBACK
                    ),
                    None if intent == INTENT_NLU_FALLBACK else intent,
                )
            elif isinstance(event, SlotSet) and event.key == SLOT_HANDOVER_REASON:
                turn_reason = event.value
            elif isinstance(event, SlotSet) and event.key == SLOT_HANDOVER_EVIDENCE:
                turn_evidence = event.value
            elif isinstance(event, ActionExecuted) and event.action_name:
                actions.append((event.action_name, _short_policy(event.policy)))
        records.append(
            TurnRecord(
                index=index,
                text=turn.text,
                intent=intent,
                confidence=None if confidence is None else float(confidence),
                top_intent=top_intent,
                actions=tuple(actions),
                handover_reason=turn_reason,
            )
        )
        names = [name for name, _ in actions]
        for decision_action in (settings.offer_action, settings.handover_action):
            if decision_action not in names:
                continue
            is_offer = decision_action == settings.offer_action
            if is_offer and offer_at is not None:
                continue  # only the first offer counts
            turn_policy = actions[names.index(decision_action)][1]
            if turn_reason in REASON_CODES:
                this_reason, source = turn_reason, REASON_SOURCE_POLICY
            else:
                this_reason = infer_reason(intent, settings)
                source = REASON_SOURCE_INFERRED
            if reason is None:
                reason, reason_source, policy = this_reason, source, turn_policy
                evidence = turn_evidence
            if is_offer:
                offer_at = index
            else:
                escalate_at, escalation_reason = index, this_reason
        if escalate_at is not None:
            break
    return ConversationResult(
        id=conversation.id,
        predicted=Outcome(escalate_at=escalate_at, offer_at=offer_at, reason=reason),
        reason_source=reason_source,
        policy=policy,
        evidence=evidence,
        turns=tuple(records),
        escalation_reason=escalation_reason,
    )


async def evaluate_agent(
    agent: "Agent",
    conversations: Sequence[LabelledConversation],
    settings: RunSettings,
    progress: bool = False,
    description: str = "evaluate",
) -> List[ConversationResult]:
    """Runs every conversation through `agent` (see `run_conversation`).

    Raises:
        EvaluationError: if a conversation sets a slot the domain lacks.

    """
    from tqdm import tqdm

    check_slots(agent, conversations)
    results: List[ConversationResult] = []
    with tqdm(
        total=len(conversations),
        desc=description,
        unit="conv",
        disable=not progress,
        file=sys.stderr,
    ) as bar:
        for conversation in conversations:
            results.append(await run_conversation(agent, conversation, settings))
            bar.update(1)
    return results


def metrics_for(
    conversations: Sequence[LabelledConversation],
    results: Sequence[ConversationResult],
) -> Metrics:
    """Scores `results` against the conversations' gold decisions."""
    return compute_metrics(
        [(c.gold, r.predicted) for c, r in zip(conversations, results)],
        [c.tags for c in conversations],
    )


def nlu_agreement(
    first: Sequence[ConversationResult], second: Sequence[ConversationResult]
) -> Optional[float]:
    """Share of turns seen by both runs whose top NLU intent is the same."""
    same = total = 0
    for a, b in zip(first, second):
        for turn_a, turn_b in zip(a.turns, b.turns):
            total += 1
            same += turn_a.top_intent == turn_b.top_intent
    return _ratio(same, total)


# --- The baseline: Rasa's own approach, trained from the same project. ------------


@dataclass(frozen=True)
class Project:
    """The Rasa project a model was trained from."""

    config: Path
    domain: Path
    data: Tuple[Path, ...]

    @classmethod
    def from_directory(
        cls,
        directory: Path,
        config: Optional[Path] = None,
        domain: Optional[Path] = None,
        data: Sequence[Path] = (),
    ) -> "Project":
        """The usual layout: config.yml, domain.yml or domain/, data/.

        Raises:
            EvaluationError: naming the file that is missing.

        """
        config = config or directory / "config.yml"
        if domain is None:
            domain = directory / "domain.yml"
            if not domain.exists():
                domain = directory / "domain"
        paths = tuple(data) or (directory / "data",)
        for path in (config, domain, *paths):
            if not path.exists():
                raise EvaluationError(
                    f"The baseline is trained from the project, but {path} does not "
                    f"exist; pass --project (or --config / --domain / --data)."
                )
        return cls(config, domain, paths)


def read_config(path: Path) -> Dict[str, Any]:
    """Reads a Rasa config.yml.

    Raises:
        EvaluationError: if it is not a YAML mapping.

    """
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise EvaluationError(f"Cannot read {path}: {error}") from error
    if not isinstance(config, dict):
        raise EvaluationError(f"{path} is not a Rasa config (a YAML mapping).")
    return config


def _is_handover_policy(entry: Any) -> bool:
    return isinstance(entry, Mapping) and str(entry.get("name", "")).endswith(
        HANDOVER_POLICY_SUFFIX
    )


def settings_for(config_path: Path) -> HandoverSettings:
    """The HandoverPolicy settings of a project's config, else the defaults.

    Without a config, or with one that has no HandoverPolicy (any Rasa bot can
    be evaluated), the default action and intent names apply.

    Raises:
        EvaluationError: if the config cannot be read or has a bad setting.

    """
    if not config_path.exists():
        return parse_settings({})
    entry = handover_entry(read_config(config_path))
    try:
        return parse_settings(entry or {})
    except HandoverConfigError as error:
        raise EvaluationError(str(error)) from error


def handover_entry(config: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    """The config's HandoverPolicy entry, if any."""
    entries = [p for p in config.get("policies") or [] if _is_handover_policy(p)]
    return entries[0] if entries else None


def handover_settings_of(config: Mapping[str, Any]) -> HandoverSettings:
    """The resolved settings of the config's HandoverPolicy entry.

    Raises:
        EvaluationError: if the config has no HandoverPolicy or a bad setting.

    """
    entry = handover_entry(config)
    if entry is None:
        raise EvaluationError(
            "The project's config.yml has no rasa_handover.HandoverPolicy, so there "
            "is nothing to compare with the baseline."
        )
    try:
        return parse_settings(entry)
    except HandoverConfigError as error:
        raise EvaluationError(str(error)) from error


def baseline_config(config: Mapping[str, Any]) -> Dict[str, Any]:
    """Rasa's own approach: the same config without HandoverPolicy.

    The pipeline gets `FallbackClassifier` at the policy's confidence floor and
    ambiguity threshold (replacing one already there); the policies lose
    HandoverPolicy and keep (or gain) RulePolicy for the handover rules.

    Raises:
        EvaluationError: if the config has no HandoverPolicy or a bad setting.

    """
    settings = handover_settings_of(config)
    pipeline = [
        entry
        for entry in config.get("pipeline") or []
        if not (isinstance(entry, Mapping) and entry.get("name") == FALLBACK_CLASSIFIER)
    ]
    pipeline.append(
        {
            "name": FALLBACK_CLASSIFIER,
            "threshold": settings.confidence_floor,
            "ambiguity_threshold": settings.ambiguity_threshold,
        }
    )
    policies = [p for p in config.get("policies") or [] if not _is_handover_policy(p)]
    if not any(
        isinstance(p, Mapping) and p.get("name") == RULE_POLICY for p in policies
    ):
        policies.append({"name": RULE_POLICY})
    return {**config, "pipeline": pipeline, "policies": policies}


def baseline_rules(settings: HandoverSettings) -> str:
    """Rules that hand over on the explicit request intents and `nlu_fallback`."""
    intents = [*sorted(settings.explicit_request_intents), INTENT_NLU_FALLBACK]
    rules = [
        {
            "rule": f"rasa-handover baseline: {intent} hands over",
            "steps": [{"intent": intent}, {"action": settings.handover_action}],
        }
        for intent in intents
    ]
    return yaml.safe_dump({"version": "3.1", "rules": rules}, sort_keys=False)


def _hash_path(digest: Any, path: Path) -> None:
    files = (
        sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    )
    for file in files:
        digest.update(
            str(file.relative_to(path) if path.is_dir() else file.name).encode()
        )
        digest.update(b"\0")
        digest.update(file.read_bytes())
        digest.update(b"\0")


def fingerprint(
    config_text: str,
    paths: Sequence[Path],
    extra_files: Mapping[str, str],
    salt: Sequence[str] = (),
) -> str:
    """A hash of everything a training run reads (file contents, not times)."""
    import rasa

    digest = hashlib.sha256()
    for part in (rasa.__version__, __version__, *salt, config_text):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    for path in paths:
        _hash_path(digest, path)
    for name in sorted(extra_files):
        digest.update(name.encode("utf-8"))
        digest.update(extra_files[name].encode("utf-8"))
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """`$RASA_HANDOVER_CACHE_DIR`, else `~/.cache/rasa-handover`."""
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured) if configured else DEFAULT_CACHE_DIR


def train_cached(
    config: Mapping[str, Any],
    cache_dir: Path,
    label: str,
    training_files: Sequence[Path] = (),
    extra_files: Optional[Mapping[str, str]] = None,
    domain: Optional[Path] = None,
    nlu_only: bool = False,
) -> Path:
    """Trains a Rasa model once per distinct input and returns its archive.

    `rasa train` runs in a subprocess, its output in a log file next to the
    model. Rasa's own training cache (in `cache_dir`) lets NLU components whose
    inputs did not change be reused by the next training.

    Args:
        config: The Rasa config to train with.
        cache_dir: Where models, logs and Rasa's training cache are kept.
        label: A name for the model file (`<label>-<fingerprint>.tar.gz`).
        training_files: Data files or directories.
        extra_files: Generated training files (name -> YAML text).
        domain: The domain file or directory (not needed for `nlu_only`).
        nlu_only: Train the NLU pipeline only (`rasa train nlu`).

    Returns:
        The path of the model archive.

    Raises:
        EvaluationError: if training fails; the message has the log's tail.

    """
    extra_files = dict(extra_files or {})
    config_text = yaml.safe_dump(dict(config), sort_keys=False)
    paths = [*([domain] if domain else []), *training_files]
    key = fingerprint(config_text, paths, extra_files, salt=(label, str(nlu_only)))[:16]
    models = cache_dir / "models"
    target = models / f"{label}-{key}.tar.gz"
    if target.exists():
        return target
    models.mkdir(parents=True, exist_ok=True)
    log = models / f"{label}-{key}.log"
    with tempfile.TemporaryDirectory(prefix="rasa-handover-train-") as tmp:
        work = Path(tmp)
        (work / "config.yml").write_text(config_text, encoding="utf-8")
        generated = []
        for name, text in extra_files.items():
            (work / name).write_text(text, encoding="utf-8")
            generated.append(work / name)
        data = [str(p.resolve()) for p in (*training_files, *generated)]
        command = [sys.executable, "-m", "rasa", "train"]
        if nlu_only:
            command += ["nlu", "--nlu", *data]
        else:
            command += ["--data", *data]
        if domain is not None:
            command += ["--domain", str(domain.resolve())]
        command += [
            "--config",
            str(work / "config.yml"),
            "--out",
            str(work / "out"),
            "--fixed-model-name",
            label,
        ]
        env = {
            **os.environ,
            RASA_CACHE_DIRECTORY_ENV: str((cache_dir / "rasa-cache").resolve()),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        with open(log, "w", encoding="utf-8") as out:
            completed = subprocess.run(
                command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        built = work / "out" / f"{label}.tar.gz"
        if completed.returncode != 0 or not built.exists():
            tail = log.read_text(encoding="utf-8").splitlines()[-TRAIN_LOG_TAIL_LINES:]
            raise EvaluationError(
                f"Training the {label} model failed (log: {log}):\n" + "\n".join(tail)
            )
        partial = target.with_suffix(".partial")
        shutil.move(str(built), partial)
        os.replace(partial, target)
    return target


def train_baseline(project: Project, cache_dir: Path) -> Path:
    """Trains (or reuses) the baseline model for `project`; see the module docs.

    Raises:
        EvaluationError: if the config has no HandoverPolicy or training fails.

    """
    config = read_config(project.config)
    settings = handover_settings_of(config)
    return train_cached(
        baseline_config(config),
        cache_dir,
        label=f"baseline-v{BASELINE_FORMAT_VERSION}",
        training_files=project.data,
        extra_files={BASELINE_RULES_FILE: baseline_rules(settings)},
        domain=project.domain,
    )


# --- Logging: Rasa's output goes to a file, the report to the terminal. ---------


@contextlib.contextmanager
def rasa_output_to(log_file: Path, level: int = logging.INFO) -> Iterator[None]:
    """Routes logging, warnings and Rasa's structlog output into `log_file`."""
    import structlog

    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root.handlers = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    saved_structlog = structlog.get_config()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.processors.add_log_level,
            structlog.processors.KeyValueRenderer(key_order=["event"]),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )
    try:
        yield
    finally:
        handler.close()
        root.handlers, root.level = saved_handlers, saved_level
        logging.captureWarnings(False)
        structlog.configure(**saved_structlog)


# --- Reports. --------------------------------------------------------------------


def _fmt(value: Optional[float], digits: int = REPORT_DIGITS) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_report(
    metrics: Mapping[str, Metrics],
    conversations: int,
    agreement: Optional[float] = None,
) -> str:
    """The terminal report: headline figures, per-reason scores, confusion tables.

    Args:
        metrics: System name (`SYSTEM_HANDOVER`, `SYSTEM_BASELINE`) -> metrics.
        conversations: How many conversations were evaluated.
        agreement: Share of turns on which both systems' NLU agreed, if known.

    Returns:
        The report, one table after the other.

    """
    systems = list(metrics)
    titles = [SYSTEM_TITLES.get(s, s) for s in systems]
    width = max(28, *(len(t) + 2 for t in titles))
    first = metrics[systems[0]]

    def row(name: str, values: Sequence[str]) -> str:
        return f"{name:<34}" + "".join(f"{v:>{width}}" for v in values)

    lines = [
        f"rasa-handover evaluate: {conversations} conversations "
        f"({first.never_conversations} that must not be handed over)",
        "",
        row("", titles),
    ]
    headline = [
        ("accuracy (exact turn)", lambda m: _fmt(m.accuracy_exact)),
        (
            f"accuracy (up to +{LATE_TOLERANCE_TURNS} turn late)",
            lambda m: _fmt(m.accuracy_within_one_turn),
        ),
        (
            "accuracy (exact turn + reason)",
            lambda m: _fmt(m.accuracy_exact_with_reason),
        ),
        (
            "false escalation rate (never)",
            lambda m: (
                f"{_fmt(m.false_escalation_rate)} "
                f"({m.false_escalations}/{m.never_conversations})"
            ),
        ),
        ("unneeded offers (never)", lambda m: _fmt(m.unneeded_offer_rate)),
        ("missed (no intervention)", lambda m: str(m.missed)),
        (
            "early: conversations, mean turns",
            lambda m: f"{m.early}, {_fmt(m.mean_turns_early, 2)}",
        ),
        (
            "late: conversations, mean turns",
            lambda m: f"{m.late}, {_fmt(m.mean_turns_late, 2)}",
        ),
        ("macro F1 over reason codes", lambda m: _fmt(m.macro_f1)),
    ]
    for name, value in headline:
        lines.append(row(name, [value(metrics[s]) for s in systems]))
    if agreement is not None:
        lines.append(f"(NLU top intent identical on {agreement:.1%} of shared turns)")

    lines += ["", "per reason code (reason of the first intervention): P / R / F1"]
    lines.append(row("", [*titles, "support"][: len(systems)]) + f"{'support':>9}")
    for reason in REASON_CODES:
        cells = []
        for system in systems:
            score = metrics[system].per_reason[reason]
            cells.append(
                f"{_fmt(score.precision, 2)} / {_fmt(score.recall, 2)} / "
                f"{_fmt(score.f1, 2)}"
            )
        lines.append(row(reason, cells) + f"{first.per_reason[reason].support:>9}")

    lines += ["", "accuracy by gold label: exact / up to +1 turn late"]
    for label, group in first.per_gold_reason.items():
        cells = [
            f"{_fmt(metrics[s].per_gold_reason[label].exact, 2)} / "
            f"{_fmt(metrics[s].per_gold_reason[label].within_one_turn, 2)}"
            for s in systems
        ]
        lines.append(row(f"{label} ({group.conversations})", cells))
    if first.per_tag:
        lines += ["", "accuracy by tag: exact / up to +1 turn late"]
        for tag, group in first.per_tag.items():
            cells = [
                f"{_fmt(metrics[s].per_tag[tag].exact, 2)} / "
                f"{_fmt(metrics[s].per_tag[tag].within_one_turn, 2)}"
                for s in systems
            ]
            lines.append(row(f"{tag} ({group.conversations})", cells))

    for system, title in zip(systems, titles):
        lines += ["", f"confusion, {title}: gold (rows) x predicted (columns)"]
        lines += format_confusion(metrics[system].confusion)
    return "\n".join(lines)


# Short column heads for confusion tables.
_LABEL_ABBREVIATIONS = {
    "explicit_request": "explicit",
    "regulated_topic": "regulated",
    "frustration": "frustr.",
    "low_confidence": "low_conf",
    "repeat_loop": "repeat",
    REASON_OTHER: REASON_OTHER,
    NONE_LABEL: NONE_LABEL,
}


def format_confusion(confusion: Mapping[str, Mapping[str, int]]) -> List[str]:
    """A confusion table as text lines (labels that occur anywhere)."""
    used = [
        label
        for label in LABELS
        if label in confusion or any(label in row for row in confusion.values())
    ]
    head = f"{'':<18}" + "".join(
        f"{_LABEL_ABBREVIATIONS.get(label, label):>10}" for label in used
    )
    lines = [head]
    for gold in used:
        row = confusion.get(gold, {})
        lines.append(
            f"{gold:<18}" + "".join(f"{row.get(p, 0) or '.':>10}" for p in used)
        )
    return lines


# --- The command. ----------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the `evaluate` options to `parser`."""
    parser.add_argument(
        "conversations", type=Path, help="labelled conversations (YAML)"
    )
    parser.add_argument(
        "--model", type=Path, required=True, help="the trained model (.tar.gz)"
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also evaluate Rasa's own approach (FallbackClassifier + rules), "
        "trained from the project and cached",
    )
    parser.add_argument(
        "--project",
        type=Path,
        default=Path("."),
        help="the Rasa project the model was trained from (default: .)",
    )
    parser.add_argument("--config", type=Path, help="config.yml (default: project's)")
    parser.add_argument("--domain", type=Path, help="domain (default: project's)")
    parser.add_argument(
        "--data", type=Path, nargs="+", default=(), help="training data paths"
    )
    parser.add_argument(
        "--endpoints",
        type=Path,
        help="endpoints.yml with the bot's action server (`action_endpoint`); "
        "needed when the domain has custom actions such as its own "
        "action_session_start. Without it, custom actions fail and are logged",
    )
    parser.add_argument("--out", type=Path, help="write the full results as JSON")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help=f"where baseline models and logs go (default: ${CACHE_DIR_ENV} or "
        f"{DEFAULT_CACHE_DIR})",
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        help="where Rasa's output goes (default: <cache-dir>/logs/evaluate.log)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


async def _evaluate_models(
    models: Mapping[str, Path],
    conversations: Sequence[LabelledConversation],
    settings: HandoverSettings,
    progress: bool,
    endpoints: Optional[Path] = None,
) -> Tuple[Dict[str, List[ConversationResult]], Dict[str, float]]:
    from rasa.core.agent import Agent
    from rasa.core.utils import read_endpoints_from_path

    action_endpoint = (
        read_endpoints_from_path(str(endpoints)).action if endpoints else None
    )

    results: Dict[str, List[ConversationResult]] = {}
    seconds: Dict[str, float] = {}
    for system, model in models.items():
        if progress:
            print(f"Loading {model} ...", file=sys.stderr)
        agent = Agent.load(str(model), action_endpoint=action_endpoint)
        run_settings = RunSettings.from_settings(settings, regulated_intents_of(agent))
        start = time.perf_counter()
        results[system] = await evaluate_agent(
            agent,
            conversations,
            run_settings,
            progress=progress,
            description=SYSTEM_TITLES[system],
        )
        seconds[system] = round(time.perf_counter() - start, 1)
    return results, seconds


def run(args: argparse.Namespace) -> int:
    """Runs `rasa-handover evaluate`; returns the exit code.

    Returns:
        0 on success, 2 for a bad conversations file or project, 1 when
        training or the evaluation fails.

    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        conversations = load_conversations(args.conversations)
    except ConversationFileError as error:
        print(f"rasa-handover evaluate: {error}", file=sys.stderr)
        return 2
    if not args.model.exists():
        print(
            f"rasa-handover evaluate: no model at {args.model} (train it first, "
            f"e.g. `make train`).",
            file=sys.stderr,
        )
        return 2
    cache_dir = args.cache_dir or default_cache_dir()
    log_file = args.log_file or cache_dir / "logs" / "evaluate.log"
    started = time.perf_counter()
    project: Optional[Project] = None
    try:
        if args.baseline:
            project = Project.from_directory(
                args.project, args.config, args.domain, args.data
            )
            # Fails now, not after loading models, if there is nothing to compare.
            handover_settings_of(read_config(project.config))
        settings = settings_for(args.config or args.project / "config.yml")
    except EvaluationError as error:
        print(f"rasa-handover evaluate: {error}", file=sys.stderr)
        return 2
    models: Dict[str, Path] = {SYSTEM_HANDOVER: args.model}
    try:
        with rasa_output_to(log_file):
            if project is not None:
                print("Training (or reusing) the baseline model ...", file=sys.stderr)
                models[SYSTEM_BASELINE] = train_baseline(project, cache_dir)
            results, seconds = asyncio.run(
                _evaluate_models(
                    models,
                    conversations,
                    settings,
                    not args.no_progress,
                    getattr(args, "endpoints", None),
                )
            )
    except EvaluationError as error:
        print(f"rasa-handover evaluate: {error}", file=sys.stderr)
        return 1
    metrics = {s: metrics_for(conversations, r) for s, r in results.items()}
    agreement = (
        nlu_agreement(results[SYSTEM_HANDOVER], results[SYSTEM_BASELINE])
        if SYSTEM_BASELINE in results
        else None
    )
    print(format_report(metrics, len(conversations), agreement))
    elapsed = round(time.perf_counter() - started, 1)
    print(f"\n{elapsed} s in all (evaluation: {seconds}); Rasa's log: {log_file}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                results_document(
                    args, conversations, models, results, metrics, seconds, agreement
                ),
                indent=2,
                default=str,
            ),
            encoding="utf-8",
        )
        print(f"JSON: {args.out}")
    return 0


def results_document(
    args: argparse.Namespace,
    conversations: Sequence[LabelledConversation],
    models: Mapping[str, Path],
    results: Mapping[str, Sequence[ConversationResult]],
    metrics: Mapping[str, Metrics],
    seconds: Mapping[str, float],
    agreement: Optional[float],
) -> Dict[str, Any]:
    """The `--out` JSON: settings, metrics per system, and every conversation."""
    return {
        "conversations_file": str(args.conversations),
        "conversations": len(conversations),
        "systems": {
            system: {
                "title": SYSTEM_TITLES[system],
                "model": str(models[system]),
                "seconds": seconds[system],
                "metrics": metrics[system].to_dict(),
            }
            for system in results
        },
        "nlu_agreement": agreement,
        "details": [
            {
                "id": conversation.id,
                "tags": list(conversation.tags),
                "note": conversation.note,
                "gold": {**asdict(conversation.gold), "label": conversation.gold.label},
                **{system: results[system][i].to_dict() for system in results},
            }
            for i, conversation in enumerate(conversations)
        ],
    }

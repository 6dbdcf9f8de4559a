"""Running labelled conversations through a trained model, turn by turn.

Each conversation is sent through `Agent.load(model)` and the agent's
`handle_message` (what `Agent.handle_text` calls, plus the turn's metadata):
real NLU, every policy, an in-memory tracker store and, with `--endpoints`, the
bot's action server. The tracker's `ActionExecuted` events say which action ran
and which policy predicted it; the decision slots (`handover_reason`,
`handover_evidence`) come from the policy's optional events. A conversation
stops at its first handover. Rasa is imported only by the functions that need it.
"""

import sys
import uuid
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

from rasa_handover.constants import (
    ACTION_CLARIFY,
    INTENT_NLU_FALLBACK,
    REASON_CODES,
    REASON_EXPLICIT_REQUEST,
    REASON_LOW_CONFIDENCE,
    REASON_REGULATED_TOPIC,
    SLOT_HANDOVER_EVIDENCE,
    SLOT_HANDOVER_REASON,
)
from rasa_handover.evaluation.conversations import (
    REASON_OTHER,
    LabelledConversation,
    Outcome,
    Turn,
)
from rasa_handover.evaluation.errors import EvaluationError
from rasa_handover.evaluation.metrics import Metrics, compute_metrics, ratio
from rasa_handover.intent_properties import parse_declarations
from rasa_handover.settings import HandoverSettings
from rasa_handover.validation import HandoverConfigError

if TYPE_CHECKING:  # pragma: no cover - Rasa is imported lazily
    from rasa.core.agent import Agent

# Where a reason came from: the policy's `handover_reason` slot, or inferred from
# the intent of the turn (baseline, or a rule/TED prediction).
REASON_SOURCE_POLICY = "policy"
REASON_SOURCE_INFERRED = "inferred"


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
    clarify_action: str = ACTION_CLARIFY

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
            clarify_action=settings.clarify_action,
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
    """The intents the agent's domain declares `regulated: true`.

    Raises:
        EvaluationError: if the domain's declarations are malformed (the
            message names the intent and the fix).

    """
    domain = agent.domain
    if domain is None:
        return frozenset()
    try:
        declarations = parse_declarations(domain.intent_properties, None, None)
    except HandoverConfigError as error:
        raise EvaluationError(str(error)) from error
    return frozenset(
        intent for intent, declaration in declarations.items() if declaration.regulated
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


@dataclass
class _Interventions:
    """The bot's offer and handover so far in one conversation."""

    escalate_at: Optional[int] = None
    offer_at: Optional[int] = None
    clarify_at: Optional[int] = None
    reason: Optional[str] = None
    escalation_reason: Optional[str] = None
    reason_source: Optional[str] = None
    policy: Optional[str] = None
    evidence: Any = None

    def observe(self, record: TurnRecord, evidence: Any, settings: RunSettings) -> None:
        """Notes the clarification, offer and handover of one turn.

        Only the first clarification and the first offer count.
        """
        names = [name for name, _ in record.actions]
        if settings.clarify_action in names and self.clarify_at is None:
            self.clarify_at = record.index
        for decision_action in (settings.offer_action, settings.handover_action):
            if decision_action not in names:
                continue
            is_offer = decision_action == settings.offer_action
            if is_offer and self.offer_at is not None:
                continue  # only the first offer counts
            turn_policy = record.actions[names.index(decision_action)][1]
            if record.handover_reason in REASON_CODES:
                this_reason, source = record.handover_reason, REASON_SOURCE_POLICY
            else:
                this_reason = infer_reason(record.intent, settings)
                source = REASON_SOURCE_INFERRED
            if self.reason is None:
                self.reason, self.reason_source = this_reason, source
                self.policy, self.evidence = turn_policy, evidence
            if is_offer:
                self.offer_at = record.index
            else:
                self.escalate_at, self.escalation_reason = record.index, this_reason


def _read_turn(index: int, text: str, events: Sequence[Any]) -> Tuple[TurnRecord, Any]:
    """What the bot understood and did on one turn, and the evidence it set."""
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

    intent: Optional[str] = None
    confidence: Optional[float] = None
    top_intent: Optional[str] = None
    actions: List[Tuple[str, Optional[str]]] = []
    turn_reason: Optional[str] = None
    turn_evidence: Any = None
    for event in events:
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
    record = TurnRecord(
        index=index,
        text=text,
        intent=intent,
        confidence=None if confidence is None else float(confidence),
        top_intent=top_intent,
        actions=tuple(actions),
        handover_reason=turn_reason,
    )
    return record, turn_evidence


async def _send_turn(agent: "Agent", sender: str, turn: Turn) -> List[Any]:
    """Sends one user turn; returns the events it added to the tracker."""
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.core.events import SlotSet

    processor = agent.processor
    assert processor is not None, "the agent has no model loaded"
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
    return list(tracker.events)[known_events:]


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
    sender = f"evaluate-{conversation.id}-{uuid.uuid4().hex[:8]}"
    records: List[TurnRecord] = []
    seen = _Interventions()
    for index, turn in enumerate(conversation.turns, start=1):
        events = await _send_turn(agent, sender, turn)
        record, evidence = _read_turn(index, turn.text, events)
        records.append(record)
        seen.observe(record, evidence, settings)
        if seen.escalate_at is not None:
            break
    return ConversationResult(
        id=conversation.id,
        predicted=Outcome(
            escalate_at=seen.escalate_at,
            offer_at=seen.offer_at,
            reason=seen.reason,
            clarify_at=seen.clarify_at,
        ),
        reason_source=seen.reason_source,
        policy=seen.policy,
        evidence=seen.evidence,
        turns=tuple(records),
        escalation_reason=seen.escalation_reason,
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
    return ratio(same, total)

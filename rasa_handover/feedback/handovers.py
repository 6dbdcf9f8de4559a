"""A resolved handover as the feedback loop reads it: one reader of the ticket.

The inbox stores the context payload with every ticket (docs/payload.md). The
loop needs a few facts from it: the user turn on which the trigger fired, the
intent NLU gave that turn and its confidence, the user turns before it in the
same session (with their entities, and NLU's runner-up where the trigger's
evidence kept it), and the account state (slots). They are read here and
nowhere else.

Pure: no Rasa, Sanic or SQLAlchemy.
"""

from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from rasa_handover.conversation import INTENT_PAYLOAD_PREFIX, ROLE_USER
from rasa_handover.inbox.models import TIER_STANDARD, OutcomeRecord


@dataclass(frozen=True)
class Turn:
    """One user turn of the handed-over conversation (redacted text)."""

    number: int
    intent: Optional[str]
    confidence: Optional[float]
    text: str
    # (entity, value) pairs NLU extracted.
    entities: Tuple[Tuple[str, Any], ...] = ()
    # NLU's top two (intent, confidence), when the trigger's evidence kept the
    # runner-up (an ambiguous turn); else empty: the payload has the top only.
    ranking: Tuple[Tuple[str, float], ...] = ()
    # The bot's actions after it, before the next user turn, as the transcript
    # shows them (the action or response behind each bot message); None when
    # the transcript does not line up with the turns (see `_bot_actions`).
    bot_actions: Optional[Tuple[str, ...]] = None

    @property
    def typed(self) -> bool:
        """False for an intent payload (`/greet`), e.g. a widget's start message."""
        return not self.text.startswith(INTENT_PAYLOAD_PREFIX)


@dataclass(frozen=True)
class Handover:
    """A resolved handover with the agent's label.

    Attributes:
        ticket_id: The inbox ticket.
        conversation_id: Rasa's sender id (the example the explanations cite).
        outcome: The label (`OUTCOMES`), None if resolved without one.
        reason: The reason code of the trigger that fired.
        tier: The agent tier (`standard`, or `senior` for high-value accounts).
        escalation: The user turn the trigger fired on (None if unknown).
        earlier: The user turns before it in the same session, oldest first.
        corrected_intent: The intent the agent says the customer really had.
        slots: The account state when it was handed over (the payload's
            slots, without the plugin's own).
        account_tier: The payload's account tier, if it has one.
        session: The session the handover happened in (1: the first).

    """

    ticket_id: int
    conversation_id: str
    outcome: Optional[str]
    reason: Optional[str]
    tier: str
    escalation: Optional[Turn]
    earlier: Tuple[Turn, ...]
    corrected_intent: Optional[str] = None
    slots: Mapping[str, Any] = field(default_factory=dict)
    account_tier: Optional[str] = None
    session: int = 1

    @property
    def turns(self) -> Tuple[Turn, ...]:
        """The session's user turns up to and including the escalation."""
        return self.earlier + ((self.escalation,) if self.escalation else ())

    @property
    def intent(self) -> Optional[str]:
        """NLU's intent on the escalation turn."""
        return self.escalation.intent if self.escalation else None

    @property
    def confidence(self) -> Optional[float]:
        """NLU's confidence on the escalation turn."""
        return self.escalation.confidence if self.escalation else None

    @property
    def high_value(self) -> bool:
        """Whether the account got the high-value thresholds."""
        return self.tier != TIER_STANDARD

    @property
    def misread(self) -> bool:
        """The agent corrected the intent: NLU, not the threshold, was wrong."""
        return self.corrected_intent is not None and self.corrected_intent != (
            self.intent
        )


def handover_from(record: OutcomeRecord) -> Handover:
    """Reads an `OutcomeRecord` (the ticket and its payload)."""
    payload = record.payload
    trigger = _mapping(payload.get("trigger"))
    turns, sessions = _turns(
        payload.get("intent_history"), _rankings(trigger.get("evidence"), trigger)
    )
    turns = _with_bot_actions(turns, payload.get("transcript"))
    at = trigger.get("turn")
    last_session = max(sessions) if sessions else None
    in_session = [
        turn for turn, session in zip(turns, sessions) if session == last_session
    ]
    escalation: Optional[Turn] = None
    if isinstance(at, int):
        escalation = next((t for t in in_session if t.number == at), None)
    elif in_session:
        escalation = in_session[-1]
    if escalation is None:
        escalation = _latest_intent(payload, at)
    earlier = tuple(
        turn
        for turn in in_session
        if escalation is not None and turn.number < escalation.number
    )
    return Handover(
        ticket_id=record.ticket_id,
        conversation_id=record.conversation_id,
        outcome=record.outcome,
        reason=record.reason or _text(trigger.get("reason")),
        tier=record.tier,
        escalation=escalation,
        earlier=earlier,
        corrected_intent=record.intent,
        slots=dict(_mapping(payload.get("slots"))),
        account_tier=_text(_mapping(payload.get("account")).get("tier")),
        session=last_session or 1,
    )


def handovers_from(records: Sequence[OutcomeRecord]) -> List[Handover]:
    """Every record read (order kept)."""
    return [handover_from(record) for record in records]


def _turns(
    history: Any, rankings: Mapping[int, Tuple[Tuple[str, float], ...]]
) -> Tuple[List[Turn], List[int]]:
    turns: List[Turn] = []
    sessions: List[int] = []
    for entry in history if isinstance(history, list) else ():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("turn"), int):
            continue  # A marker for entries cut out of a long history.
        turns.append(
            Turn(
                number=int(entry["turn"]),
                intent=_text(entry.get("intent")),
                confidence=_number(entry.get("confidence")),
                text=str(entry.get("text") or ""),
                entities=_entities(entry.get("entities")),
                ranking=rankings.get(int(entry["turn"]), ()),
            )
        )
        session = entry.get("session")
        sessions.append(session if isinstance(session, int) else 1)
    return turns, sessions


def _with_bot_actions(turns: List[Turn], transcript: Any) -> List[Turn]:
    """The turns with the bot's actions after each, read from the transcript.

    The transcript's user messages are matched to the turns in order, by
    intent. A turn the transcript leaves out (an intent payload such as the
    widget's `/greet` before the customer wrote anything) gets the bot's
    messages before the first user message. From the first turn that does not
    line up (a rewound message), the actions are unknown (None).
    """
    lead: List[str] = []
    segments: List[Tuple[Optional[str], List[str]]] = []
    for entry in transcript if isinstance(transcript, list) else []:
        if not isinstance(entry, Mapping):
            continue
        if entry.get("role") == ROLE_USER:
            segments.append((_text(entry.get("intent")), []))
            continue
        # The action that ran (a custom action's response names the response).
        action = _text(entry.get("sent_by")) or _text(entry.get("action"))
        after = segments[-1][1] if segments else lead
        if action and (not after or after[-1] != action):
            after.append(action)
    result: List[Turn] = []
    position = 0
    lined_up = bool(segments) or bool(lead)
    for turn in turns:
        actions: Optional[List[str]] = None
        if (
            lined_up
            and position < len(segments)
            and segments[position][0] == (turn.intent)
        ):
            actions = segments[position][1]
            position += 1
        elif lined_up and position == 0 and not turn.typed and lead:
            actions, lead = lead, []
        else:
            lined_up = False
        result.append(
            replace(turn, bot_actions=None if actions is None else tuple(actions))
        )
    return result


def _rankings(
    evidence: Any, trigger: Mapping[str, Any]
) -> Dict[int, Tuple[Tuple[str, float], ...]]:
    """Turn -> NLU's top two, from an ambiguous turn's evidence (and its clarified)."""
    found: Dict[int, Tuple[Tuple[str, float], ...]] = {}
    evidence = _mapping(evidence)
    clarified = _mapping(evidence.get("clarified"))
    for part, turn in (
        (evidence, trigger.get("turn")),
        (clarified, clarified.get("turn")),
    ):
        names = (_text(part.get("intent")), _text(part.get("runner_up")))
        scores = (
            _number(part.get("confidence")),
            _number(part.get("runner_up_confidence")),
        )
        if isinstance(turn, int) and None not in names and None not in scores:
            found[turn] = tuple(
                (str(name), float(score or 0.0)) for name, score in zip(names, scores)
            )
    return found


def _entities(raw: Any) -> Tuple[Tuple[str, Any], ...]:
    entries = raw if isinstance(raw, list) else []
    return tuple(
        (str(e["entity"]), e.get("value"))
        for e in entries
        if isinstance(e, Mapping) and e.get("entity")
    )


def _latest_intent(payload: Mapping[str, Any], at: Any) -> Optional[Turn]:
    """The payload's latest intent when the history does not have the turn."""
    latest = _mapping(payload.get("intent"))
    if not latest:
        return None
    return Turn(
        number=at if isinstance(at, int) else 0,
        intent=_text(latest.get("name")),
        confidence=_number(latest.get("confidence")),
        text="",
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)

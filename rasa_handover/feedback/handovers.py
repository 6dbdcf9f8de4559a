"""A resolved handover as the feedback loop reads it: one reader of the ticket.

The inbox stores the context payload with every ticket (docs/payload.md). The
loop needs a few facts from it: the user turn on which the trigger fired, the
intent NLU gave that turn and its confidence, and the user turns before it in
the same session. They are read here and nowhere else.

Pure: no Rasa, Sanic or SQLAlchemy.
"""

from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from rasa_handover.inbox.models import TIER_STANDARD, OutcomeRecord


@dataclass(frozen=True)
class Turn:
    """One user turn of the handed-over conversation (redacted text)."""

    number: int
    intent: Optional[str]
    confidence: Optional[float]
    text: str


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

    """

    ticket_id: int
    conversation_id: str
    outcome: Optional[str]
    reason: Optional[str]
    tier: str
    escalation: Optional[Turn]
    earlier: Tuple[Turn, ...]
    corrected_intent: Optional[str] = None

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
    turns, sessions = _turns(payload.get("intent_history"))
    trigger = _mapping(payload.get("trigger"))
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
    )


def handovers_from(records: Sequence[OutcomeRecord]) -> List[Handover]:
    """Every record read (order kept)."""
    return [handover_from(record) for record in records]


def _turns(history: Any) -> Tuple[List[Turn], List[int]]:
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
            )
        )
        session = entry.get("session")
        sessions.append(session if isinstance(session, int) else 1)
    return turns, sessions


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

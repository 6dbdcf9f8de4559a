"""A synthetic outcome history: resolved handovers as the inbox stores them."""

import itertools
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rasa_handover.inbox.models import OutcomeRecord
from rasa_handover.inbox.store import InboxStore

_ids = itertools.count(1)

NEEDED = "escalation_needed"
NOT_NEEDED = "escalation_not_needed"
LATE = "should_have_come_earlier"


def payload(
    turns: Sequence[Tuple[str, float]], reason: str = "low_confidence"
) -> Dict[str, Any]:
    """The payload of a handover that fired on the last of `turns`."""
    history = [
        {
            "turn": number,
            "session": 1,
            "intent": intent,
            "confidence": confidence,
            "text": f"message {number}",
            "entities": [],
        }
        for number, (intent, confidence) in enumerate(turns, 1)
    ]
    last_intent, last_confidence = turns[-1]
    return {
        "trigger": {"reason": reason, "evidence": {}, "turn": len(turns)},
        "intent": {"name": last_intent, "confidence": last_confidence},
        "intent_history": history,
    }


def record(
    outcome: Optional[str],
    turns: Sequence[Tuple[str, float]],
    reason: str = "low_confidence",
    tier: str = "standard",
    corrected: Optional[str] = None,
    texts: Sequence[str] = (),
    slots: Optional[Dict[str, Any]] = None,
) -> OutcomeRecord:
    """A resolved handover; `texts` are the user's messages (else "message N")."""
    number = next(_ids)
    content = payload(turns, reason)
    for entry, text in zip(content["intent_history"], texts):
        entry["text"] = text
    content["slots"] = dict(slots or {})
    return OutcomeRecord(
        ticket_id=number,
        conversation_id=f"conv-{number:03d}",
        attempt=1,
        reason=reason,
        team="general",
        outcome=outcome,
        note=None,
        agent_id="maya",
        resolved_at=None,
        payload=content,
        intent=corrected,
        tier=tier,
    )


def low_confidence(
    intent: str, outcomes_and_confidences: Sequence[Tuple[str, float]]
) -> List[OutcomeRecord]:
    """One low_confidence handover on `intent` per (outcome, confidence)."""
    return [
        record(outcome, [("greet", 0.95), (intent, confidence)])
        for outcome, confidence in outcomes_and_confidences
    ]


def late_after(
    earlier_intent: str, outcomes_and_confidences: Sequence[Tuple[str, float]]
) -> List[OutcomeRecord]:
    """Frustration handovers whose turn before the escalation was `earlier_intent`."""
    return [
        record(
            outcome,
            [(earlier_intent, confidence), ("complain", 0.9)],
            reason="frustration",
        )
        for outcome, confidence in outcomes_and_confidences
    ]


async def seed(db: str, records: List[OutcomeRecord]) -> None:
    """Writes the records through the inbox store, as agents' resolutions are."""
    store = InboxStore(db)
    await store.create_all()
    await store.upsert_agent("maya", "Maya", "token-maya")
    for item in records:
        ticket, _ = await store.create_ticket(
            item.conversation_id, 1, item.payload, reason=item.reason
        )
        await store.claim(ticket.id, "maya")
        await store.resolve(ticket.id, "maya", item.outcome, intent=item.intent)
    await store.close()
